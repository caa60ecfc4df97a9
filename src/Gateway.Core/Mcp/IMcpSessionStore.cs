namespace Gateway.Mcp;

/// <summary>
/// Which token pair opened each 2025-generation <c>Mcp-Session-Id</c>, so that a session id seen by another
/// (<c>sub</c>, <c>agent</c>) pair is refused (403 <c>session_mismatch</c>) instead of letting one agent ride
/// another's session. One interface, an in-memory and a Redis implementation, and one contract test class both
/// must pass.
/// </summary>
public interface IMcpSessionStore
{
    /// <summary>
    /// Binds <paramref name="sessionId"/> to <paramref name="owner"/> unless it is bound already, and returns the
    /// owner it is bound to afterwards: <paramref name="owner"/> when the binding is new (or was the same), the
    /// earlier owner otherwise. Atomic: of concurrent binds of one session id exactly one owner wins.
    /// </summary>
    /// <param name="sessionId">The upstream's <c>Mcp-Session-Id</c> from the answer to <c>initialize</c>.</param>
    /// <param name="owner">The pair of the token whose <c>initialize</c> created the session.</param>
    /// <param name="lifetime">How long an unused binding is kept; every <see cref="FindAsync"/> renews it.</param>
    /// <param name="cancellationToken">Cancels waiting for the store.</param>
    /// <exception cref="McpSessionStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask<McpSessionOwner> BindAsync(string sessionId, McpSessionOwner owner, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>
    /// The owner <paramref name="sessionId"/> is bound to, or null when it is not (never bound, ended or expired);
    /// a binding found is kept for another <paramref name="lifetime"/>.
    /// </summary>
    /// <exception cref="McpSessionStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask<McpSessionOwner?> FindAsync(string sessionId, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Forgets the binding (the session was ended with DELETE); nothing happens when there is none.</summary>
    /// <exception cref="McpSessionStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask RemoveAsync(string sessionId, CancellationToken cancellationToken);
}

/// <summary>
/// The store could not be reached or did not answer in time. The session's owner cannot be known, so the caller
/// refuses the request (503 <c>policy_store_unavailable</c>).
/// </summary>
public sealed class McpSessionStoreUnavailableException : Exception
{
    public McpSessionStoreUnavailableException()
        : base("The MCP session store is unavailable.")
    {
    }

    public McpSessionStoreUnavailableException(string message)
        : base(message)
    {
    }

    public McpSessionStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
