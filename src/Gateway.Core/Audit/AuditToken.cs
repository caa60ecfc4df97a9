using Gateway.Policy;

namespace Gateway.Audit;

/// <summary>The <c>token</c> member: claims of the validated token, never the token itself.</summary>
public sealed record AuditToken
{
    public required string Jti { get; init; }

    /// <summary><c>iss</c>.</summary>
    public required string Issuer { get; init; }

    /// <summary><c>sub</c>: the human on whose behalf the agent acts, as the issuer wrote it.</summary>
    public required string Subject { get; init; }

    /// <summary><c>agent</c>: the calling agent, the outermost <c>act.sub</c>.</summary>
    public required string Agent { get; init; }

    /// <summary><c>chain</c>: <c>cap.chain</c>, ancestor token ids nearest first; empty when not delegated.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];

    /// <summary><c>intent</c>: how the human approved the delegation (<c>policy</c>, <c>explicit</c>, <c>step_up</c>).</summary>
    public IntentMethod Intent { get; init; } = IntentMethod.Policy;

    // Extensions beyond the contract's six members: what replaying a call against another policy
    // (gateway diff --audit) and the least-privilege review (gateway audit report) need. Claims the
    // gateway already judged on, never the token.

    /// <summary><c>grants</c>: the token's <c>agent_capability</c> entries, as granted (patterns, not matches).</summary>
    public IReadOnlyList<AuditGrant> Grants { get; init; } = [];

    /// <summary><c>acr</c>, or null.</summary>
    public string? Acr { get; init; }

    /// <summary><c>auth_time</c>, or null.</summary>
    public DateTimeOffset? AuthTime { get; init; }

    /// <summary><c>iat</c>; null in events written before it was recorded.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary><c>exp</c>; null in events written before it was recorded.</summary>
    public DateTimeOffset? Expires { get; init; }
}

/// <summary>One <c>agent_capability</c> entry of a token: its action and resource patterns.</summary>
public sealed record AuditGrant(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources);
