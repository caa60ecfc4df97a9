using System.Collections.Concurrent;
using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// What each MCP route's tools declare as <c>x-mcp-header</c>s, learned from the <c>tools/list</c> answers the gateway
/// filters, so <see cref="McpHeaderCheck"/> can hold <c>Mcp-Param-*</c> headers to the body. Per replica and bounded:
/// a tool not seen yet (another replica served the list, or the cache was full) is simply unknown, and its
/// <c>Mcp-Param-*</c> headers are left to the MCP server, which must validate them itself.
/// </summary>
public sealed class McpToolHeaderCache
{
    private readonly ConcurrentDictionary<(string Route, string Tool), McpToolHeaders> _tools = new();
    private readonly int _maxEntries;

    /// <param name="maxEntries">Most tools remembered across routes; default 10,000. When full, it starts over.</param>
    public McpToolHeaderCache(int maxEntries = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        _maxEntries = maxEntries;
    }

    /// <summary>Tools remembered.</summary>
    public int Count => _tools.Count;

    /// <summary>The annotations of <paramref name="tool"/> on <paramref name="route"/>, when its schema has been seen.</summary>
    public bool TryGet(string route, string tool, out McpToolHeaders headers)
    {
        if (_tools.TryGetValue((route, tool), out var found))
        {
            headers = found;
            return true;
        }

        headers = McpToolHeaders.None;
        return false;
    }

    /// <summary>The annotations of <paramref name="tool"/>, or null when its schema has not been seen.</summary>
    public McpToolHeaders? Find(string route, string tool) => _tools.TryGetValue((route, tool), out var found) ? found : null;

    /// <summary>Remembers (or replaces) what <paramref name="tool"/> declares.</summary>
    public void Set(string route, string tool, McpToolHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(tool);
        ArgumentNullException.ThrowIfNull(headers);
        if (_tools.Count >= _maxEntries && !_tools.ContainsKey((route, tool)))
        {
            // Starting over is always safe: an unknown tool only means its headers are checked by the server alone.
            _tools.Clear();
        }

        _tools[(route, tool)] = headers;
    }

    /// <summary>
    /// Learns from one element of a <c>tools/list</c> result (the filter's <c>OnTool</c> callback). A tool whose
    /// annotations are invalid is forgotten, and false says so: MCP clients must leave such a tool out.
    /// </summary>
    public bool Observe(string route, string tool, JsonElement definition)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(tool);
        if (definition.ValueKind == JsonValueKind.Object
            && definition.TryGetProperty("inputSchema"u8, out var schema)
            && McpToolHeaders.TryRead(schema, out var headers, out _))
        {
            Set(route, tool, headers);
            return true;
        }

        _tools.TryRemove((route, tool), out _);
        return false;
    }
}
