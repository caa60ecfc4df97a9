namespace Gateway.Dpop;

/// <summary>
/// The embedded default: accepted proofs remembered in this process, for a single replica. Memory is bounded by
/// the proofs accepted within one window, since entries are dropped once their lifetime has passed (swept at most
/// every <see cref="SweepInterval"/>).
/// </summary>
public sealed class InMemoryDpopReplayStore : IDpopReplayStore
{
    /// <summary>How often a call also sweeps out expired entries: 30 seconds.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, DateTimeOffset> _seen = [];
    private readonly TimeProvider _time;
    private DateTimeOffset _nextSweep;

    public InMemoryDpopReplayStore(TimeProvider? timeProvider = null)
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
                return _seen.Count;
            }
        }
    }

    public ValueTask<bool> TryAcceptAsync(string thumbprint, string jti, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(thumbprint);
        ArgumentException.ThrowIfNullOrEmpty(jti);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        var key = DpopReplayKey.Compute(thumbprint, jti);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            SweepIfDue(now);
            if (_seen.TryGetValue(key, out var expires) && expires > now)
            {
                return ValueTask.FromResult(false);
            }

            _seen[key] = now + lifetime;
            return ValueTask.FromResult(true);
        }
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + SweepInterval;
        foreach (var (key, expires) in _seen)
        {
            if (expires <= now)
            {
                _seen.Remove(key);
            }
        }
    }
}
