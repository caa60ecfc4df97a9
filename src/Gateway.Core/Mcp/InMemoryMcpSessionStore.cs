namespace Gateway.Mcp;

/// <summary>
/// The embedded default: session bindings held in this process, for a single replica. Memory is bounded by the
/// sessions used within one lifetime, since expired entries are swept out at most every <see cref="SweepInterval"/>.
/// </summary>
public sealed class InMemoryMcpSessionStore : IMcpSessionStore
{
    /// <summary>How often a call also sweeps out expired entries: 30 seconds.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (McpSessionOwner Owner, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private DateTimeOffset _nextSweep;

    public InMemoryMcpSessionStore(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _nextSweep = _time.GetUtcNow() + SweepInterval;
    }

    /// <summary>Entries held, expired or not; lets tests see that expired ones are swept out.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    public ValueTask<McpSessionOwner> BindAsync(string sessionId, McpSessionOwner owner, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            SweepIfDue(now);
            if (_sessions.TryGetValue(sessionId, out var entry) && entry.Expires > now)
            {
                return ValueTask.FromResult(entry.Owner);
            }

            _sessions[sessionId] = (owner, now + lifetime);
            return ValueTask.FromResult(owner);
        }
    }

    public ValueTask<McpSessionOwner?> FindAsync(string sessionId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            SweepIfDue(now);
            if (!_sessions.TryGetValue(sessionId, out var entry) || entry.Expires <= now)
            {
                return ValueTask.FromResult<McpSessionOwner?>(null);
            }

            _sessions[sessionId] = (entry.Owner, now + lifetime);
            return ValueTask.FromResult<McpSessionOwner?>(entry.Owner);
        }
    }

    public ValueTask RemoveAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            _sessions.Remove(sessionId);
        }

        return ValueTask.CompletedTask;
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + SweepInterval;
        foreach (var (key, entry) in _sessions)
        {
            if (entry.Expires <= now)
            {
                _sessions.Remove(key);
            }
        }
    }
}
