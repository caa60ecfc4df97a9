namespace Gateway.Budgets;

/// <summary>One allowed-so-far call, to be charged to its token, the token's ancestors and (sub, agent).</summary>
public sealed record BudgetCharge
{
    /// <summary>The token's <c>sub</c>. It never changes down a delegation chain, so every account of one charge lives under it.</summary>
    public required string Subject { get; init; }

    /// <summary>The calling agent (outermost <c>act.sub</c>).</summary>
    public required string Agent { get; init; }

    public required string Jti { get; init; }

    /// <summary>The token's own step limit: <c>cap.max_steps</c>, else <c>budgets.steps.default</c>.</summary>
    public required int MaxSteps { get; init; }

    /// <summary>The token's <c>exp</c>. Its step account lives until then plus <see cref="BudgetStoreOptions.ExpiryGrace"/>.</summary>
    public required DateTimeOffset TokenExpires { get; init; }

    /// <summary>
    /// <c>cap.chain</c>: ancestor token ids, nearest first. Each is charged a step too, so delegation can
    /// never multiply a budget. Their limits are not known to the child: an ancestor the store has never
    /// seen is opened with <see cref="DefaultSteps"/> and the child's expiry, and takes its own
    /// <c>max_steps</c> (and expiry) the first time it is charged as the token itself.
    /// </summary>
    public IReadOnlyList<string> Ancestors { get; init; } = [];

    /// <summary>The route's risk points; 0 charges no risk.</summary>
    public required int Risk { get; init; }

    /// <summary>Risk points (sub, agent) may use per window.</summary>
    public required int RiskLimit { get; init; }

    /// <summary>Length of the fixed risk window; windows start at multiples of it since the Unix epoch.</summary>
    public required TimeSpan RiskWindow { get; init; }

    /// <summary>An approved call: admitted even past the risk limit, and its risk is still added.</summary>
    public bool BypassRiskLimit { get; init; }

    /// <summary><c>budgets.steps.default</c>: the limit given to an ancestor the store has never seen.</summary>
    public required int DefaultSteps { get; init; }

    /// <summary>Throws for a charge no store could honour; both stores call it so they fail alike.</summary>
    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Subject);
        ArgumentException.ThrowIfNullOrEmpty(Agent);
        ArgumentException.ThrowIfNullOrEmpty(Jti);
        ArgumentNullException.ThrowIfNull(Ancestors);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(Risk);
        ArgumentOutOfRangeException.ThrowIfNegative(RiskLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(DefaultSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(RiskWindow, TimeSpan.FromMilliseconds(1));
        foreach (var ancestor in Ancestors)
        {
            ArgumentException.ThrowIfNullOrEmpty(ancestor, nameof(Ancestors));
        }
    }

    /// <summary>
    /// The ancestors to charge, each once and never the token itself: a malformed chain that names an
    /// account twice must cost one step, not two, and must not pass as two separate accounts.
    /// </summary>
    internal IReadOnlyList<string> DistinctAncestors()
    {
        var needsCopy = false;
        for (var i = 0; i < Ancestors.Count && !needsCopy; i++)
        {
            needsCopy = string.Equals(Ancestors[i], Jti, StringComparison.Ordinal);
            for (var j = 0; j < i && !needsCopy; j++)
            {
                needsCopy = string.Equals(Ancestors[i], Ancestors[j], StringComparison.Ordinal);
            }
        }

        if (!needsCopy)
        {
            return Ancestors;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { Jti };
        var distinct = new List<string>(Ancestors.Count);
        foreach (var ancestor in Ancestors)
        {
            if (seen.Add(ancestor))
            {
                distinct.Add(ancestor);
            }
        }

        return distinct;
    }
}
