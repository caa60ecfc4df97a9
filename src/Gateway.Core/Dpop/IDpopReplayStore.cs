namespace Gateway.Dpop;

/// <summary>
/// Remembers accepted DPoP proofs so that each is accepted once, also across gateway replicas. One interface,
/// an in-memory and a Redis implementation, and one contract test class both must pass.
/// </summary>
public interface IDpopReplayStore
{
    /// <summary>
    /// Records the proof (<paramref name="thumbprint"/>, <paramref name="jti"/>) and returns true, unless it was
    /// already recorded less than <paramref name="lifetime"/> ago, then returns false and changes nothing. Atomic:
    /// of any number of concurrent calls with one proof, exactly one gets true.
    /// </summary>
    /// <param name="thumbprint">The proof key's RFC 7638 thumbprint: jtis are the key holder's to choose, so they are unique per key.</param>
    /// <param name="jti">The proof's <c>jti</c>.</param>
    /// <param name="lifetime">How long to remember it: at least as long as the proof could still be accepted.</param>
    /// <param name="cancellationToken">Cancels waiting for the store.</param>
    /// <exception cref="DpopReplayStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask<bool> TryAcceptAsync(string thumbprint, string jti, TimeSpan lifetime, CancellationToken cancellationToken);
}

/// <summary>
/// The replay store could not be reached or did not answer in time. The proof cannot be known to be fresh, so the
/// caller refuses the call (503 <c>policy_store_unavailable</c>) unless <c>on_store_failure</c> lets it fall back to
/// a replica-local store.
/// </summary>
public sealed class DpopReplayStoreUnavailableException : Exception
{
    public DpopReplayStoreUnavailableException()
        : base("The DPoP replay store is unavailable.")
    {
    }

    public DpopReplayStoreUnavailableException(string message)
        : base(message)
    {
    }

    public DpopReplayStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
