using System.Buffers;
using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// Removes the tools a token may not call from <c>tools/list</c> answers, so the model never sees them. The answer is
/// read strictly (a repeated member refuses it, since the agent's reader might keep the other copy), and the result
/// is spliced, not re-serialised: the envelope, <c>nextCursor</c>, <c>_meta</c> and every kept tool stay byte for byte.
/// </summary>
public static class McpToolsListFilter
{
    /// <summary>Filters an <c>application/json</c> answer: one response, or a batch of them.</summary>
    public static McpFilterResult FilterJson(ReadOnlyMemory<byte> body, McpToolsListFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (body.Length > options.MaxBytes)
        {
            return McpFilterResult.Refuse($"The answer is larger than the {options.MaxBytes} bytes the filter reads.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = options.MaxDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException)
        {
            return McpFilterResult.Refuse("The answer is not JSON the filter can read (malformed, too deep, or with a repeated member).");
        }

        using (document)
        {
            var root = document.RootElement;
            var ids = options.ResponseIds is null ? null : IdKeys(options.ResponseIds);

            // Keep flags per tools array, in document order; null for a response that is not filtered.
            var decisions = new List<bool[]?>();
            var removed = 0;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (Decide(root, ids, options, decisions, ref removed) is { } refusal)
                {
                    return McpFilterResult.Refuse(refusal);
                }
            }
            else if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in root.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && Decide(item, ids, options, decisions, ref removed) is { } refusal)
                    {
                        return McpFilterResult.Refuse(refusal);
                    }
                }
            }
            else
            {
                return McpFilterResult.Refuse("The answer is not a JSON-RPC response.");
            }

            return removed == 0
                ? McpFilterResult.Unchanged
                : new McpFilterResult(McpFilterOutcome.Filtered, Splice(body.Span, decisions), removed, null);
        }
    }

    private static string? Decide(JsonElement response, HashSet<string>? ids, McpToolsListFilterOptions options, List<bool[]?> decisions, ref int removed)
    {
        if (response.TryGetProperty("method"u8, out _)
            || !response.TryGetProperty("result"u8, out var result) || result.ValueKind != JsonValueKind.Object
            || !result.TryGetProperty("tools"u8, out var tools))
        {
            // Neither pass records anything for these: the reader below skips requests and results without tools.
            return null;
        }

        var filtered = ids is null || (response.TryGetProperty("id"u8, out var id) && ids.Contains(IdKey(id)));
        if (tools.ValueKind != JsonValueKind.Array)
        {
            return filtered ? "The answer's result.tools is not an array." : null;
        }

        if (!filtered)
        {
            decisions.Add(null);
            return null;
        }

        var keep = new bool[tools.GetArrayLength()];
        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            // A tool without a readable name cannot be matched against a grant, so it is not shown.
            string? name = null;
            if (tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("name"u8, out var nameElement) && nameElement.ValueKind == JsonValueKind.String)
            {
                try
                {
                    name = nameElement.GetString();
                }
                catch (InvalidOperationException)
                {
                    name = null;
                }
            }

            if (name is not null)
            {
                options.OnTool?.Invoke(name, tool);
            }

            keep[i] = name is not null && options.Allow(name);
            if (!keep[i])
            {
                removed++;
            }

            i++;
        }

        decisions.Add(keep);
        return null;
    }

    /// <summary>
    /// Copies <paramref name="body"/>, leaving out the tools <paramref name="decisions"/> drop. A second, reader-level
    /// pass finds the byte ranges, walking the same responses in the same order as the document pass did.
    /// </summary>
    private static byte[] Splice(ReadOnlySpan<byte> body, List<bool[]?> decisions)
    {
        var state = new SpliceState(body.Length, decisions);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 1024 });
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            Response(body, ref reader, state);
        }
        else
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    Response(body, ref reader, state);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        state.Output.Write(body[state.Copied..]);
        return state.Output.WrittenSpan.ToArray();
    }

    private static void Response(ReadOnlySpan<byte> body, ref Utf8JsonReader reader, SpliceState state)
    {
        var isRequest = false;
        (int Start, int End)[]? found = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("method"u8))
            {
                isRequest = true;
            }

            var isResult = reader.ValueTextEquals("result"u8);
            reader.Read();
            if (isResult && reader.TokenType == JsonTokenType.StartObject)
            {
                found = ToolRanges(ref reader, state.Ranges);
            }
            else
            {
                reader.Skip();
            }
        }

        if (isRequest || found is null)
        {
            return;
        }

        var keep = state.Decisions[state.Array++];
        if (keep is null || found.Length == 0)
        {
            return;
        }

        // Up to the first tool as it was; the kept tools joined by commas; from after the last tool on as it was.
        state.Output.Write(body[state.Copied..found[0].Start]);
        var first = true;
        for (var i = 0; i < found.Length; i++)
        {
            if (!keep[i])
            {
                continue;
            }

            if (!first)
            {
                state.Output.Write(","u8);
            }

            state.Output.Write(body[found[i].Start..found[i].End]);
            first = false;
        }

        state.Copied = found[^1].End;
    }

    private static (int Start, int End)[]? ToolRanges(ref Utf8JsonReader reader, List<(int Start, int End)> ranges)
    {
        (int Start, int End)[]? found = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isTools = reader.ValueTextEquals("tools"u8);
            reader.Read();
            if (isTools && reader.TokenType == JsonTokenType.StartArray)
            {
                ranges.Clear();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var start = checked((int)reader.TokenStartIndex);
                    reader.Skip();
                    ranges.Add((start, checked((int)reader.BytesConsumed)));
                }

                found = [.. ranges];
            }
            else
            {
                reader.Skip();
            }
        }

        return found;
    }

    private sealed class SpliceState(int length, List<bool[]?> decisions)
    {
        public ArrayBufferWriter<byte> Output { get; } = new(length);

        public List<bool[]?> Decisions { get; } = decisions;

        public List<(int Start, int End)> Ranges { get; } = [];

        public int Copied { get; set; }

        public int Array { get; set; }
    }

    private static HashSet<string> IdKeys(IReadOnlyCollection<string> rawIds)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in rawIds)
        {
            try
            {
                using var id = JsonDocument.Parse(raw);
                keys.Add(IdKey(id.RootElement));
            }
            catch (JsonException)
            {
                // Not an id the parser produced; nothing can match it.
            }
        }

        return keys;
    }

    /// <summary>An id compared as JSON: <c>"a"</c> and <c>"\u0061"</c> are one id, <c>1</c> and <c>"1"</c> are two.</summary>
    private static string IdKey(JsonElement id)
    {
        switch (id.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    return "s" + id.GetString();
                }
                catch (InvalidOperationException)
                {
                    return "r" + id.GetRawText();
                }

            case JsonValueKind.Number:
                return id.TryGetDecimal(out var number) ? "n" + (number / 1.0000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture) : "r" + id.GetRawText();
            default:
                return "x" + id.GetRawText();
        }
    }
}
