using Gateway.Policy;

namespace Gateway.Approvals;

/// <summary>
/// One approval request: the exact call that asked (who, what, the request's digest and a redacted
/// preview), and where its decision stands. Everything but the state fields is fixed at creation,
/// which is what lets a retry be checked against it without a lock.
/// </summary>
public sealed record ApprovalRecord
{
    /// <summary>128 random bits, lowercase hex: unguessable, since the id travels in URLs and headers.</summary>
    public required string Id { get; init; }

    public required ApprovalReason Reason { get; init; }
    public required string Route { get; init; }
    public required string Action { get; init; }
    public required string Resource { get; init; }
    public required string Tier { get; init; }
    public required int Risk { get; init; }

    /// <summary>The route's <c>describe</c>, filled in ("Delete customer 42"); null when the route has none.</summary>
    public string? Description { get; init; }

    public bool Irreversible { get; init; }

    public required string Jti { get; init; }
    public required string Subject { get; init; }
    public required string Agent { get; init; }

    /// <summary>The <c>act</c> chain, calling agent first.</summary>
    public IReadOnlyList<string> Actors { get; init; } = [];

    /// <summary><c>cap.chain</c>: ancestor token ids, nearest first.</summary>
    public IReadOnlyList<string> TokenChain { get; init; } = [];

    public DateTimeOffset TokenExpires { get; init; }

    /// <summary>What the token may do in all: its grants, as written in it.</summary>
    public IReadOnlyList<ApprovalGrant> Grants { get; init; } = [];

    public required string Method { get; init; }

    /// <summary>Path and query string, as received.</summary>
    public required string Path { get; init; }

    /// <summary>Lowercase hex SHA-256 of the request body (of nothing, for a call without one).</summary>
    public required string BodySha256 { get; init; }

    public long BodyLength { get; init; }
    public string? ContentType { get; init; }

    /// <summary>The start of the body with configured fields redacted; null when the content type has no safe preview.</summary>
    public string? BodyPreview { get; init; }

    public bool BodyPreviewTruncated { get; init; }

    public required ApprovalBinding Binding { get; init; }

    /// <summary>Digest of what a retry must match (identity, route, method, path, body): one open request per exact call.</summary>
    public required string CallKey { get; init; }

    public required string PolicySha256 { get; init; }

    /// <summary>The trace id of the refused call that asked, so every later event can be tied to it.</summary>
    public required string TraceId { get; init; }

    public required string DecisionId { get; init; }

    /// <summary>Risk points (sub, agent) had left when a risk-budget escalation asked; null for tier approvals.</summary>
    public int? RiskRemaining { get; init; }

    public int? RiskLimit { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The stored state; see <see cref="EffectiveState"/> for what it means now.</summary>
    public ApprovalState State { get; init; } = ApprovalState.Pending;

    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>The admin key id (<see cref="Admin.AdminKeyAuthenticator"/>) that approved or denied.</summary>
    public string? DecidedBy { get; init; }

    /// <summary>The approver's own <c>sub</c>, when they named themselves with an <c>Approver-Token</c>.</summary>
    public string? DecidedBySubject { get; init; }

    /// <summary>The approver's note, or the denial's reason.</summary>
    public string? Note { get; init; }

    public DateTimeOffset? UsedAt { get; init; }

    /// <summary>The decision id of the call that used the approval.</summary>
    public string? UsedBy { get; init; }

    /// <summary>Pending or approved records read as expired once <see cref="ExpiresAt"/> has passed, whatever is stored.</summary>
    public ApprovalState EffectiveState(DateTimeOffset now) =>
        State is ApprovalState.Pending or ApprovalState.Approved && now >= ExpiresAt ? ApprovalState.Expired : State;
}

/// <summary>One <c>agent_capability</c> entry of the token, as text.</summary>
public sealed record ApprovalGrant(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources);
