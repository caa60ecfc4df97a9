namespace Gateway.Audit;

/// <summary>
/// One audit event: a decision (allowed, refused or shadow-refused) or an admin action. The members
/// are the contract's (section 7) plus <c>replica</c>, <c>seq</c> and <c>admin</c>; docs/audit.md
/// lists them. The caller fills in what happened; <see cref="AuditWriter"/> fills in the chain
/// members (<c>replica</c>, <c>seq</c>, <c>prev_hash</c>, <c>hash</c>) when it writes the event, so
/// whatever a caller sets there is ignored.
/// </summary>
/// <remarks>
/// Never a token, a body or a prompt: claims, the body's digest, and ids only.
/// In JSON every member is always present, <c>null</c> when it does not apply (no route matched, no
/// token was validated, not an admin action), so every line has the same shape and the canonical
/// form depends on the values alone.
/// </remarks>
public sealed record AuditEvent
{
    /// <summary><c>event_id</c>: the decision id (<c>Gateway-Decision-Id</c>), 32 hex digits, time-ordered.</summary>
    public required string EventId { get; init; }

    /// <summary><c>time</c>: when the decision was made; written as RFC 3339 UTC with milliseconds.</summary>
    public required DateTimeOffset Time { get; init; }

    public required AuditDecision Decision { get; init; }

    /// <summary><c>error</c>: the refusal code (for <c>shadow_deny</c>, the one not enforced); null when allowed.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// Extension <c>reason</c>: the refusal's reason where the code has several (<c>expired</c>, <c>revoked</c>,
    /// <c>step_up</c>, <c>risk_budget</c>, <c>steps</c>...), as in problem+json; null when allowed or when none.
    /// </summary>
    public string? Reason { get; init; }

    /// <summary><c>route</c>: the matched route's id, or null (<c>no_route</c>, admin actions).</summary>
    public string? Route { get; init; }

    public string? Action { get; init; }
    public string? Resource { get; init; }
    public string? Tier { get; init; }
    public int? Risk { get; init; }
    public AuditToken? Token { get; init; }
    public AuditRequest? Request { get; init; }

    /// <summary>
    /// <c>outcome</c>: what the upstream answered and what of it reached the client; set on forwarded calls only, null on
    /// refusals and admin actions.
    /// </summary>
    public AuditOutcome? Outcome { get; init; }

    /// <summary><c>links</c>: prompt, conversation, grant and approval evidence; set on every decision, null on admin actions.</summary>
    public AuditLinks? Links { get; init; }

    /// <summary><c>status</c>: the HTTP status the caller got.</summary>
    public int? Status { get; init; }

    public AuditBudget? Budget { get; init; }

    /// <summary><c>policy_sha256</c>: the policy load that decided.</summary>
    public string? PolicySha256 { get; init; }

    /// <summary><c>trace_id</c>: W3C trace id, 32 hex digits, as in problem+json and the span.</summary>
    public string? TraceId { get; init; }

    /// <summary><c>span_id</c>: the <c>gateway.authorize</c> span, 16 hex digits.</summary>
    public string? SpanId { get; init; }

    /// <summary><c>upstream_credential</c>: the credential of the route's upstream, when it has <c>auth</c> and the call was allowed.</summary>
    public AuditCredential? UpstreamCredential { get; init; }

    /// <summary><c>mcp</c>: the MCP message decided (contract section 9); absent from events of other calls.</summary>
    public AuditMcp? Mcp { get; init; }

    /// <summary>Extension: set on <see cref="AuditDecision.Admin"/> events only.</summary>
    public AuditAdmin? Admin { get; init; }

    /// <summary>Chain extension: the replica whose chain holds this event. Set by the writer.</summary>
    public string? Replica { get; init; }

    /// <summary>Chain extension: 1-based position in the replica's chain. Set by the writer.</summary>
    public long Seq { get; init; }

    /// <summary>The previous event's <c>hash</c> in this replica's chain (64 zeros for the first). Set by the writer.</summary>
    public string? PrevHash { get; init; }

    /// <summary>Set by the writer; see <see cref="AuditChain"/>.</summary>
    public string? Hash { get; init; }
}
