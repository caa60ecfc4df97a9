using Gateway.Policy;

namespace Gateway.Tokens;

/// <summary>
/// A validated capability token, reduced to what the decision needs. Built once per distinct
/// token and cached, so it must stay immutable.
/// </summary>
public sealed class CapabilityToken
{
    public required string Jti { get; init; }
    public required string Issuer { get; init; }

    /// <summary>The human on whose behalf the agent acts.</summary>
    public required string Subject { get; init; }

    /// <summary>The calling agent: the outermost <c>act.sub</c>.</summary>
    public required string Agent { get; init; }

    /// <summary>The <c>act</c> chain, outermost (calling agent) first.</summary>
    public required IReadOnlyList<string> Actors { get; init; }

    public string? ClientId { get; init; }
    public required DateTimeOffset IssuedAt { get; init; }
    public required DateTimeOffset Expires { get; init; }
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>The <c>agent_capability</c> entries of <c>authorization_details</c>; other types are dropped.</summary>
    public required IReadOnlyList<CapabilityGrant> Grants { get; init; }

    public int? MaxSteps { get; init; }
    public IntentMethod Intent { get; init; } = IntentMethod.Policy;
    public string? IntentEvidence { get; init; }

    /// <summary><c>cap.chain</c>: ancestor token ids, nearest first.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];

    public string? Acr { get; init; }
    public DateTimeOffset? AuthTime { get; init; }

    /// <summary><c>cnf.jkt</c>: the DPoP key thumbprint the token is bound to.</summary>
    public string? ConfirmationJkt { get; init; }

    /// <summary><c>cnf.x5t#S256</c>: the client certificate thumbprint the token is bound to.</summary>
    public string? ConfirmationX5tS256 { get; init; }

    /// <summary><c>status.status_list</c>: the token's entry in its issuer's Token Status List, checked at check 3; null when it has none.</summary>
    public StatusLists.StatusListReference? StatusList { get; init; }

    /// <summary>Hops of <c>act</c> nesting (1 = the agent acts directly for the user).</summary>
    public int DelegationDepth => Actors.Count;
}

/// <summary>One <c>agent_capability</c> entry: a grant is in scope only when one entry covers both action and resource.</summary>
public sealed class CapabilityGrant
{
    /// <summary>
    /// The entry's position in the token's <c>authorization_details</c> array, counting entries of every type (other
    /// types are skipped, so it can differ from the position in <see cref="CapabilityToken.Grants"/>).
    /// </summary>
    public required int Index { get; init; }

    public required IReadOnlyList<ActionPattern> Actions { get; init; }
    public required IReadOnlyList<ResourcePattern> Resources { get; init; }
}
