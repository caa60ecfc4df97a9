namespace Gateway.Telemetry;

/// <summary>
/// Attribute names of the <c>gateway.authorize</c> span (contract section 8). Values are codes,
/// ids and numbers, never a token, a body or a raw subject (see <see cref="SubjectHasher"/>).
/// </summary>
public static class GatewayAttributes
{
    public const string Route = "gateway.route";
    public const string Decision = "gateway.decision";
    public const string Error = "gateway.error";
    public const string Action = "gateway.action";
    public const string Resource = "gateway.resource";
    public const string Tier = "gateway.tier";
    public const string Risk = "gateway.risk";
    public const string TokenJti = "gateway.token.jti";
    public const string Agent = "gateway.agent";
    public const string DelegationDepth = "gateway.delegation.depth";
    public const string StepsRemaining = "gateway.steps.remaining";
    public const string RiskRemaining = "gateway.risk.remaining";
    public const string DecisionId = "gateway.decision_id";

    /// <summary>OpenTelemetry's end-user attribute: the token's <c>sub</c>, hashed unless <c>telemetry.raw_subject</c>.</summary>
    public const string EndUserId = "enduser.id";

    /// <summary>OpenTelemetry's MCP semantic conventions: the JSON-RPC method of the message decided.</summary>
    public const string McpMethod = "mcp.method.name";

    /// <summary>OpenTelemetry's GenAI conventions: the tool a <c>tools/call</c> names.</summary>
    public const string ToolName = "gen_ai.tool.name";

    /// <summary>OpenTelemetry's MCP semantic conventions: the 2025 generation's <c>Mcp-Session-Id</c>.</summary>
    public const string McpSessionId = "mcp.session.id";

    /// <summary>OpenTelemetry's JSON-RPC conventions: the message's id as sent.</summary>
    public const string JsonRpcRequestId = "jsonrpc.request.id";

    /// <summary>Extension (contract section 10): the upstream credential's kind, on allowed calls to an upstream with <c>auth</c>.</summary>
    public const string CredentialKind = "gateway.upstream.credential.kind";

    /// <summary>Extension: the credential's non-secret id (client id, file name, certificate thumbprint).</summary>
    public const string CredentialId = "gateway.upstream.credential.id";

    /// <summary>Every attribute of contract section 8, in the contract's order (the credential extensions are not among them).</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Route, Decision, Error, Action, Resource, Tier, Risk, TokenJti, Agent, DelegationDepth,
        StepsRemaining, RiskRemaining, DecisionId, EndUserId,
    ];
}
