namespace Gateway.Enforcement;

/// <summary>Header names of the contract (section 5).</summary>
public static class GatewayHeaders
{
    public const string Prefix = "Gateway-";
    public const string Subject = "Gateway-Subject";
    public const string Agent = "Gateway-Agent";
    public const string DecisionId = "Gateway-Decision-Id";
    public const string StepsRemaining = "Gateway-Steps-Remaining";
    public const string RiskRemaining = "Gateway-Risk-Remaining";
    public const string DPoP = "DPoP";
    public const string DPoPNonce = "DPoP-Nonce";
    public const string ApprovalId = "Approval-Id";

    /// <summary>The caller's claim of the prompt behind a call: 64 lowercase hex digits of its SHA-256 (docs/audit.md, links).</summary>
    public const string PromptSha256 = "Gateway-Prompt-Sha256";

    /// <summary>W3C Baggage; its member <c>gen_ai.conversation.id</c> (OpenTelemetry GenAI) links a call to its conversation.</summary>
    public const string Baggage = "baggage";
}
