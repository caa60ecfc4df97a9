namespace Gateway.Budgets;

/// <summary>What admin <c>GET /budgets</c> shows; read without consuming anything.</summary>
public sealed record BudgetSnapshot
{
    public required string Subject { get; init; }
    public required string Agent { get; init; }

    /// <summary>Risk points used in the current window; 0 when nothing was charged in it.</summary>
    public int RiskUsed { get; init; }

    /// <summary>
    /// The risk limit recorded by the last charge in the current window, or null when nothing was charged
    /// in it (the store knows limits only from charges; the caller then shows the policy's limit).
    /// </summary>
    public int? RiskLimit { get; init; }

    /// <summary><see cref="RiskLimit"/> minus <see cref="RiskUsed"/>, never negative; null with <see cref="RiskLimit"/>.</summary>
    public int? RiskRemaining { get; init; }

    /// <summary>When the current window rolls and usage resets; null when nothing was charged in it.</summary>
    public DateTimeOffset? RiskWindowEnds { get; init; }

    /// <summary>The token asked about, if any.</summary>
    public string? Jti { get; init; }

    /// <summary>Steps the token's own account has used (ancestors not included); null when it has never been charged.</summary>
    public int? StepsUsed { get; init; }

    /// <summary>The token's own step limit as the store keeps it; null when it has never been charged.</summary>
    public int? StepsLimit { get; init; }

    /// <summary><see cref="StepsLimit"/> minus <see cref="StepsUsed"/>, never negative; null when never charged.</summary>
    public int? StepsRemaining { get; init; }
}
