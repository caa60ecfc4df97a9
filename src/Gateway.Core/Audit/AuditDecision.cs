namespace Gateway.Audit;

/// <summary>What an audit event records; the wire words are the <c>decision</c> member.</summary>
public enum AuditDecision
{
    /// <summary><c>allow</c>: the call was forwarded.</summary>
    Allow,

    /// <summary><c>deny</c>: the call was refused.</summary>
    Deny,

    /// <summary><c>shadow_deny</c>: a shadow-mode route would have refused the call; it was forwarded.</summary>
    ShadowDeny,

    /// <summary><c>admin</c>: an action on the gateway itself (admin API, or the writer recording dropped events).</summary>
    Admin,
}

public static class AuditDecisions
{
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string ShadowDeny = "shadow_deny";
    public const string Admin = "admin";

    public static string ToWire(this AuditDecision decision) => decision switch
    {
        AuditDecision.Allow => Allow,
        AuditDecision.Deny => Deny,
        AuditDecision.ShadowDeny => ShadowDeny,
        AuditDecision.Admin => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, "Unknown audit decision."),
    };

    public static bool TryParse(string? value, out AuditDecision decision)
    {
        switch (value)
        {
            case Allow:
                decision = AuditDecision.Allow;
                return true;
            case Deny:
                decision = AuditDecision.Deny;
                return true;
            case ShadowDeny:
                decision = AuditDecision.ShadowDeny;
                return true;
            case Admin:
                decision = AuditDecision.Admin;
                return true;
            default:
                decision = default;
                return false;
        }
    }
}
