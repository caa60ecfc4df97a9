namespace Gateway.Mcp;

/// <summary>
/// A request whose MCP headers disagree with its JSON-RPC body (or lack one its protocol version requires): the
/// <see cref="Header"/> at fault and a <see cref="Detail"/> sentence for the refusal. Answered with 400
/// <c>header_mismatch</c> and never forwarded, since a component trusting the header could be walked past.
/// </summary>
public sealed record McpHeaderMismatch(string Header, string Detail);
