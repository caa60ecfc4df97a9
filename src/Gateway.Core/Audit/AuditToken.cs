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
}
