namespace Gateway.Reporting;

/// <summary>
/// What <c>gateway audit report</c> found in a window of the audit trail: per agent and per user, shadow-mode
/// refusals per route, and the grants nobody used. Immutable; written as text, JSON or an HTML page.
/// </summary>
public sealed record AuditReport
{
    /// <summary>Events from this time on were counted; null counts everything.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>When the report was made (the end of the window).</summary>
    public required DateTimeOffset Until { get; init; }

    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>Lines read, in the window or not.</summary>
    public long Lines { get; init; }

    /// <summary>Lines that were not audit events (a torn last line, another file).</summary>
    public long Unreadable { get; init; }

    /// <summary>Decision events (allow, deny, shadow_deny) in the window.</summary>
    public long Calls { get; init; }

    /// <summary>Admin events in the window.</summary>
    public long AdminEvents { get; init; }

    public DateTimeOffset? FirstEvent { get; init; }
    public DateTimeOffset? LastEvent { get; init; }

    public required IReadOnlyList<PrincipalActivity> Agents { get; init; }
    public required IReadOnlyList<PrincipalActivity> Users { get; init; }
    public required IReadOnlyList<ShadowRefusals> ShadowRefusals { get; init; }
    public required IReadOnlyList<UnusedGrant> UnusedGrants { get; init; }

    /// <summary>Distinct (agent, action pattern, resource pattern) grants seen in tokens, used or not.</summary>
    public int GrantsSeen { get; init; }

    /// <summary>Refused calls by error code, all principals together.</summary>
    public required IReadOnlyDictionary<string, long> RefusalsByError { get; init; }
}

/// <summary>What one agent (or one user) did in the window. Calls without a validated token count under <c>(no token)</c>.</summary>
public sealed record PrincipalActivity
{
    public const string NoToken = "(no token)";

    public required string Name { get; init; }
    public long Calls { get; init; }
    public long Allowed { get; init; }
    public long Refused { get; init; }

    /// <summary>Forwarded calls a shadow-mode route would have refused.</summary>
    public long ShadowRefused { get; init; }

    public required IReadOnlyDictionary<string, long> RefusalsByError { get; init; }

    /// <summary>Approvals requested for this principal's calls (<c>approval.requested</c>), and how they ended.</summary>
    public long ApprovalsAsked { get; init; }
    public long ApprovalsGranted { get; init; }
    public long ApprovalsDenied { get; init; }

    /// <summary>Step-up challenges: calls refused <c>insufficient_user_authentication</c>.</summary>
    public long StepUps { get; init; }

    /// <summary>Risk points of allowed calls.</summary>
    public long RiskSpent { get; init; }

    /// <summary>Calls refused because a token had used all of its steps (<c>step_limit_exceeded</c>).</summary>
    public long StepsExhausted { get; init; }

    /// <summary>Calls refused, or sent for approval, because the risk budget was spent (<c>risk_budget_exceeded</c>, or <c>approval_required</c> with reason <c>risk_budget</c>).</summary>
    public long RiskExhausted { get; init; }
}

/// <summary>The refusals a shadow-mode route recorded but did not enforce: what enforcing it would refuse.</summary>
public sealed record ShadowRefusals(string Route, long Count, IReadOnlyDictionary<string, long> ByError);

/// <summary>
/// An action and resource pattern granted together (one <c>authorization_details</c> entry) in tokens of
/// <see cref="Agent"/>, and never exercised in the window: no allowed call of those tokens fell under it.
/// </summary>
public sealed record UnusedGrant(string Agent, string Action, string Resource, int Tokens, int Users);
