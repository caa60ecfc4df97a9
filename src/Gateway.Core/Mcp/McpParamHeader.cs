namespace Gateway.Mcp;

/// <summary>
/// One <c>x-mcp-header</c> annotation of a tool's <c>inputSchema</c>: the header <c>Mcp-Param-{Name}</c> mirrors the
/// argument at <see cref="Path"/> (the chain of <c>properties</c> keys from the schema root).
/// </summary>
public sealed record McpParamHeader(string Name, IReadOnlyList<string> Path)
{
    /// <summary>The full header name, <c>Mcp-Param-{Name}</c>.</summary>
    public string HeaderName { get; } = McpHeaders.ParamPrefix + Name;

    /// <summary>The argument path as <c>a.b</c>, for messages.</summary>
    public string DottedPath => string.Join('.', Path);
}
