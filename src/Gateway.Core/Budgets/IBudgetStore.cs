namespace Gateway.Budgets;

/// <summary>
/// Step and risk budgets. One interface, an in-memory and a Redis implementation, and one contract
/// test class both must pass, so the gateway behaves the same whichever store backs it.
/// </summary>
public interface IBudgetStore
{
    /// <summary>
    /// Checks and consumes, as ONE atomic operation: a step of the token and of every ancestor in its
    /// chain, and the route's risk for (sub, agent) in the current window. Either everything is consumed
    /// or, when any check fails, nothing is, and the result says which check failed.
    /// </summary>
    /// <exception cref="BudgetStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken);

    /// <summary>What (sub, agent) has used of its risk window and, when <paramref name="jti"/> is given, of that token's steps.</summary>
    /// <exception cref="BudgetStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken);

    /// <summary>Whether the store can take charges now; for <c>/readyz</c>. Never throws for an unreachable store.</summary>
    ValueTask<bool> PingAsync(CancellationToken cancellationToken);
}
