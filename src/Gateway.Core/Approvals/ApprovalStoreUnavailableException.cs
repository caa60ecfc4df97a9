namespace Gateway.Approvals;

/// <summary>
/// The approval store could not be reached or did not answer in time. Calls that need an approval are
/// then refused with 503 <c>policy_store_unavailable</c>: single use across replicas cannot be kept
/// by one replica alone, so there is no local fallback.
/// </summary>
public sealed class ApprovalStoreUnavailableException : Exception
{
    public ApprovalStoreUnavailableException()
        : base("The approval store is unavailable.")
    {
    }

    public ApprovalStoreUnavailableException(string message)
        : base(message)
    {
    }

    public ApprovalStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
