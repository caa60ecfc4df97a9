namespace Gateway.Approvals;

/// <summary>Where an approval request stands. Only pending → approved | denied, approved → used, and pending | approved → expired happen.</summary>
public enum ApprovalState
{
    Pending,
    Approved,
    Denied,
    Used,
    Expired,
}

/// <summary>Why a call needed a human.</summary>
public enum ApprovalReason
{
    /// <summary>The route (or its tier) says <c>approval: required</c>.</summary>
    Tier,

    /// <summary>The call would pass the (sub, agent) risk budget and <c>budgets.risk.on_exceed</c> is <c>approval</c>.</summary>
    RiskBudget,
}

public static class ApprovalNames
{
    public static string ToWord(this ApprovalState state) => state switch
    {
        ApprovalState.Pending => "pending",
        ApprovalState.Approved => "approved",
        ApprovalState.Denied => "denied",
        ApprovalState.Used => "used",
        ApprovalState.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static bool TryParseState(string? word, out ApprovalState state)
    {
        state = word switch
        {
            "pending" => ApprovalState.Pending,
            "approved" => ApprovalState.Approved,
            "denied" => ApprovalState.Denied,
            "used" => ApprovalState.Used,
            "expired" => ApprovalState.Expired,
            _ => (ApprovalState)(-1),
        };
        return state >= 0;
    }

    public static string ToWord(this ApprovalReason reason) => reason == ApprovalReason.RiskBudget ? "risk_budget" : "tier";
}
