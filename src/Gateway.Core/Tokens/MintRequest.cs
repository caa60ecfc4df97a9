using Gateway.Policy;

namespace Gateway.Tokens;

/// <summary>What <see cref="TokenMinter"/> puts in a capability token; mirrors the options of <c>gateway token mint</c>.</summary>
public sealed record MintRequest
{
    public required string Issuer { get; init; }
    public required string Audience { get; init; }

    /// <summary>The human on whose behalf the agent acts (<c>sub</c>). With <see cref="Parent"/>, must equal the parent's.</summary>
    public required string Subject { get; init; }

    /// <summary>The agent the token is for: the outermost <c>act.sub</c>.</summary>
    public required string Agent { get; init; }

    /// <summary>The actions of the single <c>agent_capability</c> entry, e.g. <c>crm.customers:read</c>.</summary>
    public required IReadOnlyList<string> Actions { get; init; }

    /// <summary>The resources of that entry, e.g. <c>crm:customer/42</c> or <c>crm:customer/**</c>.</summary>
    public required IReadOnlyList<string> Resources { get; init; }

    /// <summary>
    /// Further <c>agent_capability</c> entries, written after the one of <see cref="Actions"/> and <see cref="Resources"/>.
    /// Entries are in scope one at a time (an action of one entry never combines with a resource of another).
    /// </summary>
    public IReadOnlyList<MintGrant> AdditionalGrants { get; init; } = [];

    /// <summary><c>exp - iat</c>, whole seconds.</summary>
    public required TimeSpan Ttl { get; init; }

    /// <summary>
    /// <c>iat</c>, whole seconds; null is the minter's clock now. Set it when <c>exp</c> must be exactly what the
    /// caller checked (delegation compares the child's <c>exp</c> with its parent's before minting).
    /// </summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary><c>cap.max_steps</c>; null leaves it out (the gateway's default applies).</summary>
    public int? MaxSteps { get; init; }

    /// <summary><c>cap.intent.method</c>; null leaves <c>cap.intent</c> out (the gateway treats that as policy).</summary>
    public IntentMethod? Intent { get; init; }

    /// <summary><c>cap.intent.evidence</c>: <c>sha256:</c> and 64 hex digits.</summary>
    public string? IntentEvidence { get; init; }

    public string? Acr { get; init; }

    /// <summary><c>auth_time</c>. When <see cref="Acr"/> is set and this is not, the token's <c>iat</c> is used.</summary>
    public DateTimeOffset? AuthTime { get; init; }

    public string? ClientId { get; init; }

    /// <summary><c>cnf.jkt</c>: the base64url SHA-256 JWK thumbprint of the agent's DPoP key.</summary>
    public string? ConfirmationJkt { get; init; }

    /// <summary>
    /// For delegation: the validated parent token. The child's <c>act</c> nests the parent's actors under
    /// <see cref="Agent"/>, and its <c>cap.chain</c> is the parent's <c>jti</c> followed by the parent's chain.
    /// </summary>
    public CapabilityToken? Parent { get; init; }

    /// <summary>The <c>jti</c>; null generates 128 random bits.</summary>
    public string? Jti { get; init; }

    /// <summary><c>status.status_list</c>: the token's entry in the gateway's published status list; null leaves <c>status</c> out.</summary>
    public StatusLists.StatusListReference? Status { get; init; }
}

/// <summary>One more <c>agent_capability</c> entry of a <see cref="MintRequest"/>.</summary>
public sealed record MintGrant(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources);
