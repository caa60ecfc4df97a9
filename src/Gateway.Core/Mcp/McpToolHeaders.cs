using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// The <c>x-mcp-header</c> annotations of one tool's <c>inputSchema</c>, by MCP 2026-07-28's rules: a non-empty
/// RFC 9110 token, case-insensitively unique, on a <c>string</c>, <c>integer</c> or <c>boolean</c> property reached
/// from the root through <c>properties</c> keys only. The gateway learns them from the <c>tools/list</c> answers it
/// filters (<see cref="McpToolHeaderCache"/>), since a request does not carry its tool's schema.
/// </summary>
public sealed class McpToolHeaders
{
    private const int MaxSchemaDepth = 32;

    private static readonly string[] SchemaMapKeywords = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];

    private static readonly string[] DataKeywords = ["const", "default", "enum", "examples"];

    /// <summary>A tool with no annotation: no <c>Mcp-Param-*</c> header is expected.</summary>
    public static McpToolHeaders None { get; } = new([]);

    private McpToolHeaders(IReadOnlyList<McpParamHeader> headers) => Headers = headers;

    /// <summary>The annotations, in schema order.</summary>
    public IReadOnlyList<McpParamHeader> Headers { get; }

    /// <summary>
    /// Reads the annotations of <paramref name="inputSchema"/>. False, with the reason, for a tool definition MCP
    /// clients must reject (and leave out of their tool list): a misplaced, empty, duplicate or non-token annotation,
    /// or one on a property that is not a string, integer or boolean.
    /// </summary>
    public static bool TryRead(JsonElement inputSchema, out McpToolHeaders headers, out string? error)
    {
        headers = None;
        if (inputSchema.ValueKind != JsonValueKind.Object)
        {
            error = "inputSchema is not an object.";
            return false;
        }

        var found = new List<McpParamHeader>();
        error = Collect(inputSchema, [], found, depth: 0);
        if (error is not null)
        {
            return false;
        }

        // Every annotation anywhere must be one reached through properties alone (under items, oneOf, $ref... is invalid).
        var anywhere = CountAnywhere(inputSchema, depth: 0);
        if (anywhere != found.Count)
        {
            error = "An x-mcp-header annotation is not on a property reached through \"properties\" alone.";
            return false;
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in found)
        {
            if (!names.Add(header.Name))
            {
                error = $"The x-mcp-header name \"{header.Name}\" is used twice.";
                return false;
            }
        }

        headers = found.Count == 0 ? None : new McpToolHeaders(found);
        return true;
    }

    private static string? Collect(JsonElement schema, List<string> path, List<McpParamHeader> found, int depth)
    {
        if (depth > MaxSchemaDepth)
        {
            return "inputSchema nests properties too deeply.";
        }

        if (schema.TryGetProperty("x-mcp-header"u8, out var annotation))
        {
            if (path.Count == 0)
            {
                return "x-mcp-header annotates the schema root, not a property.";
            }

            if (annotation.ValueKind != JsonValueKind.String || annotation.GetString() is not { Length: > 0 } name || !IsToken(name))
            {
                return $"The x-mcp-header of \"{string.Join('.', path)}\" is not a non-empty header-name token.";
            }

            if (!schema.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String
                || !(type.ValueEquals("string"u8) || type.ValueEquals("integer"u8) || type.ValueEquals("boolean"u8)))
            {
                return $"x-mcp-header \"{name}\" is on \"{string.Join('.', path)}\", which is not a string, integer or boolean.";
            }

            found.Add(new McpParamHeader(name, path.ToArray()));
        }

        if (schema.TryGetProperty("properties"u8, out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                path.Add(property.Name);
                var error = Collect(property.Value, path, found, depth + 1);
                path.RemoveAt(path.Count - 1);
                if (error is not null)
                {
                    return error;
                }
            }
        }

        return null;
    }

    /// <summary>Annotations anywhere in the schema: keys of schema objects, not property names or example data.</summary>
    private static int CountAnywhere(JsonElement schema, int depth)
    {
        if (depth > MaxSchemaDepth * 4)
        {
            return int.MaxValue / 2;
        }

        var count = 0;
        switch (schema.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in schema.EnumerateArray())
                {
                    count += CountAnywhere(item, depth + 1);
                }

                break;
            case JsonValueKind.Object:
                foreach (var member in schema.EnumerateObject())
                {
                    if (member.NameEquals("x-mcp-header"u8))
                    {
                        count++;
                    }
                    else if (Array.Exists(DataKeywords, k => member.NameEquals(k)))
                    {
                        continue;
                    }
                    else if (Array.Exists(SchemaMapKeywords, k => member.NameEquals(k)) && member.Value.ValueKind == JsonValueKind.Object)
                    {
                        // A map from names to schemas: its keys are names, even one spelled "x-mcp-header".
                        foreach (var entry in member.Value.EnumerateObject())
                        {
                            count += CountAnywhere(entry.Value, depth + 1);
                        }
                    }
                    else
                    {
                        count += CountAnywhere(member.Value, depth + 1);
                    }
                }

                break;
        }

        return count;
    }

    /// <summary>RFC 9110 token: 1*tchar.</summary>
    internal static bool IsToken(string value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return value.Length > 0;
    }
}
