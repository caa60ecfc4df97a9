namespace Gateway.Budgets;

/// <summary>What a charge did, and what is left after it.</summary>
public sealed record BudgetResult
{
    public required BudgetOutcome Outcome { get; init; }

    /// <summary>
    /// Calls this token can still make after this one: its own steps left, capped by what every
    /// ancestor has left, because a child is refused as soon as any ancestor runs out. Never negative.
    /// </summary>
    public required int StepsRemaining { get; init; }

    /// <summary>Risk points (sub, agent) has left in the current window after this call. Never negative.</summary>
    public required int RiskRemaining { get; init; }

    /// <summary>With <see cref="BudgetOutcome.StepLimitExceeded"/>: the account that ran out (the token's own jti or an ancestor's).</summary>
    public string? ExhaustedJti { get; init; }

    /// <summary>With <see cref="BudgetOutcome.RiskLimitExceeded"/>: time until the window rolls. Steps never refill, so null otherwise.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public bool IsAllowed => Outcome == BudgetOutcome.Allowed;
}
