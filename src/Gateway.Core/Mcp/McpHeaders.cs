namespace Gateway.Mcp;

/// <summary>Names of the streamable-HTTP transport's request headers.</summary>
public static class McpHeaders
{
    /// <summary>The JSON-RPC <c>method</c>, mirrored (2026-07-28 requires it; the SDK sends it on 2025 too).</summary>
    public const string Method = "Mcp-Method";

    /// <summary><c>params.name</c> (tools/call, prompts/get) or <c>params.uri</c> (resources/read), mirrored.</summary>
    public const string Name = "Mcp-Name";

    /// <summary>The protocol version; on 2026-07-28 it must equal the body's <c>_meta</c> protocolVersion.</summary>
    public const string ProtocolVersion = "MCP-Protocol-Version";

    /// <summary>The 2025 generation's session.</summary>
    public const string SessionId = "Mcp-Session-Id";

    /// <summary>Prefix of the headers mirroring <c>x-mcp-header</c>-annotated tool arguments.</summary>
    public const string ParamPrefix = "Mcp-Param-";

    /// <summary>
    /// True for a version with per-request metadata (2026-07-28 and later): any version that is not one of the
    /// four session-era ones. An unknown version is held to the stricter rules; the server refuses it anyway.
    /// </summary>
    public static bool RequiresRequestMetadata(string? protocolVersion) =>
        protocolVersion is not null and not ("2024-11-05" or "2025-03-26" or "2025-06-18" or "2025-11-25");
}
