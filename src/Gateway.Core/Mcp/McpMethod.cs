namespace Gateway.Mcp;

/// <summary>
/// How the gateway treats a JSON-RPC method: the three that carry a capability are decided in full, the rest need a
/// valid token only. Methods compare ordinally, as MCP's are case-sensitive.
/// </summary>
public enum McpMethod
{
    /// <summary>No method: a response, or an invalid message.</summary>
    None,

    /// <summary><c>tools/call</c>: decided on <c>params.name</c> and <c>params.arguments</c>.</summary>
    ToolsCall,

    /// <summary><c>resources/read</c>: decided on <c>params.uri</c>.</summary>
    ResourcesRead,

    /// <summary><c>prompts/get</c>: decided on <c>params.name</c> and <c>params.arguments</c>.</summary>
    PromptsGet,

    /// <summary><c>initialize</c> (2025 generation handshake).</summary>
    Initialize,

    /// <summary><c>server/discover</c> (2026-07-28 probe; treated like <c>initialize</c>).</summary>
    ServerDiscover,

    /// <summary><c>ping</c>.</summary>
    Ping,

    /// <summary><c>tools/list</c>, <c>resources/list</c>, <c>resources/templates/list</c>, <c>prompts/list</c>.</summary>
    List,

    /// <summary>Any <c>notifications/...</c> method.</summary>
    Notification,

    /// <summary>Anything else (<c>logging/setLevel</c>, <c>completion/complete</c>, <c>resources/subscribe</c>, ...).</summary>
    Other,
}
