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
}
