namespace Gateway.Budgets;

/// <summary>
/// The budget store could not be reached, failed, or did not answer in time. The caller must refuse the
/// call (503 <c>policy_store_unavailable</c>) or apply <c>on_store_failure</c>; it must never admit it as if charged.
/// A charge that timed out may still have been applied by the store: that can only under-admit.
/// </summary>
public sealed class BudgetStoreUnavailableException : Exception
{
    public BudgetStoreUnavailableException()
        : base("The budget store is unavailable.")
    {
    }

    public BudgetStoreUnavailableException(string message)
        : base(message)
    {
    }

    public BudgetStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>When known (the circuit is open): how long until the store is tried again.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
