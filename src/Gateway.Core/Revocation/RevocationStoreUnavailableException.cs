namespace Gateway.Revocation;

/// <summary>
/// The revocation store could not be reached, failed, or did not answer in time. <c>POST /revocations</c>
/// answers 503 (the analyst must retry: the rule may not be stored); replicas keep enforcing the rules they hold.
/// </summary>
public sealed class RevocationStoreUnavailableException : Exception
{
    public RevocationStoreUnavailableException()
        : base("The revocation store is unavailable.")
    {
    }

    public RevocationStoreUnavailableException(string message)
        : base(message)
    {
    }

    public RevocationStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
