using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>What <see cref="McpToolsListFilter"/> keeps, and what it reports on the way.</summary>
public sealed class McpToolsListFilterOptions
{
    /// <summary>True for a tool name the caller's token may call; every other tool is removed from the list.</summary>
    public required Func<string, bool> Allow { get; init; }

    /// <summary>
    /// The ids (raw JSON text, as <see cref="JsonRpcMessage.Id"/> gives them) of the <c>tools/list</c> requests whose
    /// answers are filtered; other responses pass untouched, so a tool's own result that happens to hold a
    /// <c>tools</c> array is never altered. Null filters every response whose result has a <c>tools</c> array.
    /// </summary>
    public IReadOnlyCollection<string>? ResponseIds { get; init; }

    /// <summary>Called with each listed tool's name and definition (kept or not), e.g. for <see cref="McpToolHeaderCache.Observe"/>.</summary>
    public Action<string, JsonElement>? OnTool { get; init; }

    /// <summary>Largest answer (or SSE event) read, in bytes. Default 8 MiB; a larger one is refused, not passed unfiltered.</summary>
    public int MaxBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Deepest nesting read. Default 128: tool schemas nest deeper than requests do.</summary>
    public int MaxDepth { get; init; } = 128;
}
