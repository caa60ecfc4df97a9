namespace Gateway.Budgets;

public enum BudgetOutcome
{
    /// <summary>Everything was consumed.</summary>
    Allowed,

    /// <summary>The token, or an ancestor in its chain, has no step left; nothing was consumed.</summary>
    StepLimitExceeded,

    /// <summary>(sub, agent) would pass its risk limit in this window; nothing was consumed.</summary>
    RiskLimitExceeded,
}
