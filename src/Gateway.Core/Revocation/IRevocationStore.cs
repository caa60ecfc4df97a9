namespace Gateway.Revocation;

/// <summary>
/// Where revocation rules live and how replicas learn of new ones. One interface, an in-memory and a Redis
/// implementation, and one contract test class both must pass. Replicas never check tokens against the store:
/// <see cref="RevocationSynchronizer"/> keeps each replica's <see cref="RevocationIndex"/> current from it.
/// </summary>
public interface IRevocationStore
{
    /// <summary>
    /// Stores <paramref name="rule"/> until its <see cref="RevocationRule.ExpiresAt"/> and announces it to every
    /// subscriber, this replica's included. Adding a rule whose id is already stored changes nothing that matters.
    /// Once this returns, the rule is durable as far as the store is; an announcement that got lost is made up
    /// for by the next resync.
    /// </summary>
    /// <exception cref="ArgumentException">The rule is already expired or its id is not a valid rule id.</exception>
    /// <exception cref="RevocationStoreUnavailableException">The store could not be reached; the rule may not have been stored.</exception>
    ValueTask AddAsync(RevocationRule rule, CancellationToken cancellationToken);

    /// <summary>Every rule not yet expired, oldest first.</summary>
    /// <exception cref="RevocationStoreUnavailableException">The store could not be reached.</exception>
    ValueTask<IReadOnlyList<RevocationRule>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// An opaque value that changes whenever a rule is added (or the store lost its rules), and stays the same
    /// otherwise, expiry included. Read before <see cref="ListAsync"/>, it lets a resync skip the full list when
    /// nothing changed; with 100,000 rules that list is megabytes.
    /// </summary>
    /// <exception cref="RevocationStoreUnavailableException">The store could not be reached.</exception>
    ValueTask<string> GetVersionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="onAdded"/> for each rule added from now on, on any replica, until the result is
    /// disposed. Delivery is at most once and may be lost (pub/sub); callers resync to converge. The callback
    /// runs on the store's thread: it must be quick and must not throw.
    /// </summary>
    /// <exception cref="RevocationStoreUnavailableException">The store could not be reached; nothing is subscribed.</exception>
    ValueTask<IAsyncDisposable> SubscribeAsync(Action<RevocationRule> onAdded, CancellationToken cancellationToken);
}
