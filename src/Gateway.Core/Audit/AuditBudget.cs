namespace Gateway.Audit;

/// <summary>The <c>budget</c> member: what is left after this call, as the agent was told.</summary>
public sealed record AuditBudget
{
    /// <summary><c>steps_left</c>, or null when budgets were not reached.</summary>
    public int? StepsLeft { get; init; }

    /// <summary><c>risk_left</c>, or null when budgets were not reached.</summary>
    public int? RiskLeft { get; init; }
}
