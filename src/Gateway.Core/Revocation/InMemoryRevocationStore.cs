namespace Gateway.Revocation;

/// <summary>
/// The embedded default: rules held in this process, for a single replica (with several, each would only
/// know its own revocations; use the Redis store). Announcements are delivered synchronously, before
/// <see cref="AddAsync"/> returns. Expired rules are dropped whenever rules are added or listed.
/// </summary>
public sealed class InMemoryRevocationStore : IRevocationStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RevocationRule> _rules = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;

    // Stands for "this store's rules": a new process starts a new sequence, so a version is never reused.
    private readonly string _epoch = Guid.NewGuid().ToString("N");
    private Action<RevocationRule>[] _subscribers = [];
    private long _sequence;

    public InMemoryRevocationStore(TimeProvider? timeProvider = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Rules held, expired or not; lets tests see that expired ones are dropped.</summary>
    internal int StoredCount
    {
        get
        {
            lock (_lock)
            {
                return _rules.Count;
            }
        }
    }

    public ValueTask AddAsync(RevocationRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        cancellationToken.ThrowIfCancellationRequested();
        var now = _timeProvider.GetUtcNow();
        CheckStorable(rule, now);

        Action<RevocationRule>[] subscribers;
        lock (_lock)
        {
            RemoveExpired(now);
            if (!_rules.TryAdd(rule.Id, rule))
            {
                return ValueTask.CompletedTask;
            }

            _sequence++;
            subscribers = _subscribers;
        }

        // Outside the lock: a subscriber may well list the rules in response.
        foreach (var subscriber in subscribers)
        {
            subscriber(rule);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<RevocationRule>> ListAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            RemoveExpired(_timeProvider.GetUtcNow());
            return new([.. _rules.Values.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal)]);
        }
    }

    public ValueTask<string> GetVersionAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return new($"{_epoch}:{_sequence}");
        }
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(Action<RevocationRule> onAdded, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onAdded);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            _subscribers = [.. _subscribers, onAdded];
        }

        return new(new Subscription(this, onAdded));
    }

    /// <summary>What both stores refuse, so they fail alike.</summary>
    internal static void CheckStorable(RevocationRule rule, DateTimeOffset now)
    {
        if (!RevocationRule.IsValidId(rule.Id))
        {
            throw new ArgumentException($"A rule id is 1 to {RevocationRule.MaxIdLength} letters, digits, '_' or '-'.", nameof(rule));
        }

        if (rule.IsExpired(now))
        {
            throw new ArgumentException("The rule has already expired; it could match no token that is still accepted.", nameof(rule));
        }
    }

    private void RemoveExpired(DateTimeOffset now)
    {
        foreach (var (id, rule) in _rules)
        {
            if (rule.IsExpired(now))
            {
                _rules.Remove(id);
            }
        }
    }

    private void Unsubscribe(Action<RevocationRule> onAdded)
    {
        lock (_lock)
        {
            _subscribers = [.. _subscribers.Where(s => !ReferenceEquals(s, onAdded))];
        }
    }

    private sealed class Subscription(InMemoryRevocationStore store, Action<RevocationRule> onAdded) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            store.Unsubscribe(onAdded);
            return ValueTask.CompletedTask;
        }
    }
}
