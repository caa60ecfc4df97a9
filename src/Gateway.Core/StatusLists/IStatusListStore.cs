namespace Gateway.StatusLists;

/// <summary>
/// The Token Status List the gateway publishes for the child tokens it mints, shared by every replica: index
/// allocation, which indices each <c>jti</c> (a child's own, and each of its ancestors') covers, and the bits.
/// One interface, an in-memory and a Redis implementation, one contract test both pass.
/// </summary>
/// <remarks>
/// Indices are handed out in a ring of <c>size</c> entries: an index is reused (its bit cleared) only after
/// <c>size</c> more children were minted, so <c>size</c> must exceed the number of children minted within
/// <c>delegation.max_ttl</c>, or a revoked child's bit could be cleared while it still lives.
/// </remarks>
public interface IStatusListStore
{
    /// <summary>
    /// Takes the next index of the ring, clears its bit, and records it under <paramref name="jti"/> and each of
    /// <paramref name="ancestors"/> until <paramref name="expires"/> (the child's <c>exp</c>), so that revoking any of them sets it.
    /// </summary>
    /// <exception cref="StatusListStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<long> AllocateAsync(string jti, IReadOnlyList<string> ancestors, DateTimeOffset expires, int size, CancellationToken cancellationToken);

    /// <summary>Sets the bit of every index recorded under <paramref name="jti"/>; returns how many.</summary>
    /// <exception cref="StatusListStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<int> RevokeAsync(string jti, CancellationToken cancellationToken);

    /// <summary>The list's bytes, <paramref name="size"/> / 8 of them, entry 0 in the lowest bit of byte 0.</summary>
    /// <exception cref="StatusListStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<byte[]> ReadAsync(int size, CancellationToken cancellationToken);
}

/// <summary>The status list store cannot be reached: a mint is answered 503, a published list is not served.</summary>
public sealed class StatusListStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
