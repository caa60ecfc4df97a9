namespace Gateway.Delegation;

/// <summary>What an agent asks for when it delegates: a child token for another agent, narrower than its own.</summary>
public sealed record DelegationRequest
{
    /// <summary>Most grant entries in one request; with <see cref="MaxPatternsPerEntry"/>, bounds the scope check.</summary>
    public const int MaxEntries = 8;

    /// <summary>Most actions, and most resources, in one entry.</summary>
    public const int MaxPatternsPerEntry = 16;

    /// <summary>The agent the child token is for: its outermost <c>act.sub</c>.</summary>
    public required string Agent { get; init; }

    /// <summary>The child's <c>agent_capability</c> entries; each must be covered entry by entry by the parent.</summary>
    public required IReadOnlyList<DelegationGrant> Grants { get; init; }

    /// <summary>
    /// The child's lifetime; null asks for as long as allowed: until the parent's <c>exp</c>, at most
    /// <c>delegation.max_ttl</c>. Whole seconds.
    /// </summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>The child's <c>cap.max_steps</c>; null gives it the parent's remaining steps.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>
    /// The <c>sub</c> the caller expects the child to carry. Null means the parent's; anything else is refused,
    /// because delegation never changes the human an agent acts for.
    /// </summary>
    public string? Subject { get; init; }

    /// <summary>
    /// <c>cnf.jkt</c> for the child: the thumbprint of the child agent's own DPoP key. The parent's binding is
    /// never copied, since the child agent does not hold the parent's key.
    /// </summary>
    public string? ConfirmationJkt { get; init; }
}

/// <summary>One requested <c>agent_capability</c> entry: actions and resources, patterns as in tokens.</summary>
public sealed record DelegationGrant(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources);
