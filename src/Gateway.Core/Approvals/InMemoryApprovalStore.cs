namespace Gateway.Approvals;

/// <summary>
/// Approvals held in this process, for a single replica. Every operation runs under one lock, which
/// makes each transition atomic; approvals move at human pace, so the lock is never contended.
/// Mirrors the Redis store rule for rule (the contract tests hold both to it), including when
/// records are forgotten: <see cref="ApprovalStoreOptions.Retention"/> after they expire.
/// </summary>
public sealed class InMemoryApprovalStore : IApprovalStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ApprovalRecord> _records = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Id, DateTimeOffset Expires)> _calls = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _retention;
    private readonly TimeSpan _sweepInterval;
    private DateTimeOffset _nextSweep;

    public InMemoryApprovalStore(ApprovalStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new ApprovalStoreOptions();
        options.Validate();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _retention = options.Retention;
        _sweepInterval = options.SweepInterval;
        _nextSweep = _timeProvider.GetUtcNow() + _sweepInterval;
    }

    /// <summary>Records held, forgotten or not; lets tests see that old ones are swept out.</summary>
    internal int RecordCount
    {
        get
        {
            lock (_lock)
            {
                return _records.Count;
            }
        }
    }

    public ValueTask<ApprovalCreateResult> CreateAsync(ApprovalRecord record, int maxOpen, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOpen, 1);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            SweepIfDue(now);
            if (_calls.TryGetValue(record.CallKey, out var call) && call.Expires > now && Live(call.Id, now) is { } existing)
            {
                return ValueTask.FromResult(new ApprovalCreateResult(ApprovalCreateOutcome.Existing, existing));
            }

            // Open = not yet expired, whatever was decided: a cap on how fast one agent can ask, not only on a queue.
            DateTimeOffset? oldest = null;
            var open = 0;
            foreach (var other in _records.Values)
            {
                if (other.ExpiresAt > now && string.Equals(other.Subject, record.Subject, StringComparison.Ordinal)
                    && string.Equals(other.Agent, record.Agent, StringComparison.Ordinal))
                {
                    open++;
                    oldest = oldest is null || other.ExpiresAt < oldest ? other.ExpiresAt : oldest;
                }
            }

            if (open >= maxOpen)
            {
                return ValueTask.FromResult(new ApprovalCreateResult(ApprovalCreateOutcome.TooManyOpen, null, oldest - now));
            }

            var stored = record with { State = ApprovalState.Pending };
            _records[record.Id] = stored;
            _calls[record.CallKey] = (record.Id, record.ExpiresAt);
            return ValueTask.FromResult(new ApprovalCreateResult(ApprovalCreateOutcome.Created, stored));
        }
    }

    public ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(Live(id, _timeProvider.GetUtcNow()));
        }
    }

    public ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            IReadOnlyList<ApprovalRecord> list = _records.Values
                .Where(r => r.ExpiresAt + _retention > now)
                .OrderByDescending(r => r.CreatedAt)
                .ThenByDescending(r => r.Id, StringComparer.Ordinal)
                .Take(limit)
                .ToList();
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<ApprovalTransition> DecideAsync(string id, ApprovalVerdict verdict, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(verdict);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            if (Live(id, now) is not { } record)
            {
                return Result(ApprovalTransitionOutcome.NotFound, null);
            }

            if (record.State != ApprovalState.Pending)
            {
                return Result(ApprovalTransitionOutcome.WrongState, record.State);
            }

            if (now >= record.ExpiresAt)
            {
                return Result(ApprovalTransitionOutcome.Expired, ApprovalState.Expired);
            }

            var state = verdict.Approve ? ApprovalState.Approved : ApprovalState.Denied;
            _records[id] = record with
            {
                State = state,
                DecidedAt = now,
                DecidedBy = verdict.DecidedBy,
                DecidedBySubject = verdict.DecidedBySubject,
                Note = verdict.Note,
            };
            return Result(ApprovalTransitionOutcome.Done, state);
        }
    }

    public ValueTask<ApprovalTransition> ConsumeAsync(ApprovalRecord record, string decisionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(decisionId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            if (Live(record.Id, now) is not { } stored)
            {
                return Result(ApprovalTransitionOutcome.NotFound, null);
            }

            if (stored.State != ApprovalState.Approved)
            {
                return Result(ApprovalTransitionOutcome.WrongState, stored.State);
            }

            if (now >= stored.ExpiresAt)
            {
                return Result(ApprovalTransitionOutcome.Expired, ApprovalState.Expired);
            }

            _records[record.Id] = stored with { State = ApprovalState.Used, UsedAt = now, UsedBy = decisionId };

            // The same call may ask again once this approval is spent.
            if (_calls.TryGetValue(stored.CallKey, out var call) && call.Id == record.Id)
            {
                _calls.Remove(stored.CallKey);
            }

            return Result(ApprovalTransitionOutcome.Done, ApprovalState.Used);
        }
    }

    public ValueTask<bool> ReleaseAsync(ApprovalRecord record, string decisionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(decisionId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            if (Live(record.Id, now) is not { State: ApprovalState.Used } stored || !string.Equals(stored.UsedBy, decisionId, StringComparison.Ordinal))
            {
                return ValueTask.FromResult(false);
            }

            _records[record.Id] = stored with { State = ApprovalState.Approved, UsedAt = null, UsedBy = null };
            if (stored.ExpiresAt > now)
            {
                _calls.TryAdd(stored.CallKey, (stored.Id, stored.ExpiresAt));
            }

            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> ExpireAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            if (Live(id, now) is not { State: ApprovalState.Pending or ApprovalState.Approved } record || now < record.ExpiresAt)
            {
                return ValueTask.FromResult(false);
            }

            _records[id] = record with { State = ApprovalState.Expired };
            return ValueTask.FromResult(true);
        }
    }

    private static ValueTask<ApprovalTransition> Result(ApprovalTransitionOutcome outcome, ApprovalState? state) =>
        ValueTask.FromResult(new ApprovalTransition(outcome, state));

    private ApprovalRecord? Live(string id, DateTimeOffset now)
    {
        if (!_records.TryGetValue(id, out var record))
        {
            return null;
        }

        if (record.ExpiresAt + _retention > now)
        {
            return record;
        }

        _records.Remove(id);
        return null;
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + _sweepInterval;
        foreach (var (id, record) in _records)
        {
            if (record.ExpiresAt + _retention <= now)
            {
                _records.Remove(id);
            }
        }

        foreach (var (key, call) in _calls)
        {
            if (call.Expires <= now)
            {
                _calls.Remove(key);
            }
        }
    }
}
