namespace Gateway.Audit;

/// <summary>The <c>mcp</c> member: which JSON-RPC message of an MCP route was decided; never its argument values.</summary>
public sealed record AuditMcp
{
    /// <summary><c>method</c>: the JSON-RPC method (<c>tools/call</c>, <c>initialize</c>, ...).</summary>
    public required string Method { get; init; }

    /// <summary><c>tool</c>: the tool or prompt name, or the resource URI; null for other methods.</summary>
    public string? Tool { get; init; }

    /// <summary><c>id</c>: the JSON-RPC id as the body spelled it (<c>7</c>, <c>"a"</c>); null for notifications.</summary>
    public string? Id { get; init; }

    /// <summary><c>arguments_sha256</c>: SHA-256 of the canonical (RFC 8785) <c>params.arguments</c>; null without arguments.</summary>
    public string? ArgumentsSha256 { get; init; }
}
