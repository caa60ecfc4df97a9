using Gateway.Budgets;
using StackExchange.Redis;

namespace Gateway.Redis.Budgets;

/// <summary>
/// Coalesces the charges in flight into one script call per round trip. The first charge is sent at
/// once; charges that arrive while a call is on the wire wait for its reply and then go out together,
/// as one <c>EVALSHA</c> that applies them in order. A charge costs the same alone (one round trip)
/// and, under load, Redis runs one script per round trip instead of one per charge, and both processes
/// send and receive one message instead of many. One batcher serves one Redis Cluster slot, so every
/// key of a call is in one slot.
/// </summary>
internal sealed class ChargeBatcher
{
    /// <summary>At most this many charges in one script call; more waiting go out as several calls at once.</summary>
    public const int MaxCharges = 64;

    private readonly Func<RedisKey[], RedisValue[], Task<RedisResult>> _evaluate;
    private readonly Lock _gate = new();
    private List<PendingCharge> _queue = [];
    private bool _sending;

    /// <param name="evaluate">Runs <see cref="ChargeScript"/> over the keys and arguments; throws <see cref="BudgetStoreUnavailableException"/>.</param>
    public ChargeBatcher(Func<RedisKey[], RedisValue[], Task<RedisResult>> evaluate)
    {
        _evaluate = evaluate;
    }

    public Task<ChargeReply> ChargeAsync(RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        var pending = new PendingCharge(keys, args, cancellationToken);
        bool send;
        lock (_gate)
        {
            _queue.Add(pending);
            send = !_sending;
            _sending = true;
        }

        if (send)
        {
            // Runs on the caller's thread up to the first send; the rest runs as replies come back.
            _ = DrainAsync();
        }

        return pending.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<PendingCharge> batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _sending = false;
                    return;
                }

                batch = _queue;
                _queue = [];
            }

            // A caller that has given up (its timeout passed while the previous call was on the wire) is
            // not charged: its call was already refused.
            batch.RemoveAll(static pending => pending.CancelIfAbandoned());
            if (batch.Count == 0)
            {
                continue;
            }

            if (batch.Count <= MaxCharges)
            {
                await SendAsync(batch, 0, batch.Count);
            }
            else
            {
                var calls = new List<Task>();
                for (var start = 0; start < batch.Count; start += MaxCharges)
                {
                    calls.Add(SendAsync(batch, start, Math.Min(MaxCharges, batch.Count - start)));
                }

                await Task.WhenAll(calls);
            }
        }
    }

    // Never throws: every charge of the call gets its reply or the store's exception.
    private async Task SendAsync(List<PendingCharge> batch, int start, int count)
    {
        try
        {
            var keyCount = 0;
            for (var i = start; i < start + count; i++)
            {
                keyCount += batch[i].Keys.Length;
            }

            RedisKey[] keys;
            RedisValue[] args;
            if (count == 1)
            {
                keys = batch[start].Keys;
                args = batch[start].Args;
            }
            else
            {
                keys = new RedisKey[keyCount];
                args = new RedisValue[count * ChargeScript.ArgsPerCharge];
                for (int i = 0, k = 0; i < count; i++)
                {
                    var pending = batch[start + i];
                    pending.Keys.CopyTo(keys, k);
                    k += pending.Keys.Length;
                    pending.Args.CopyTo(args, i * ChargeScript.ArgsPerCharge);
                }
            }

            var reply = await _evaluate(keys, args);
            var values = (long[]?)reply;
            if (values is null || values.Length != count * ChargeScript.RepliesPerCharge)
            {
                throw new BudgetStoreUnavailableException("The budget store answered the charge with an unexpected reply.");
            }

            for (var i = 0; i < count; i++)
            {
                var v = i * ChargeScript.RepliesPerCharge;
                batch[start + i].SetResult(new ChargeReply(values[v], values[v + 1], values[v + 2], values[v + 3], values[v + 4]));
            }
        }
        catch (Exception ex)
        {
            for (var i = start; i < start + count; i++)
            {
                batch[i].SetException(ex);
            }
        }
    }

    private sealed class PendingCharge(RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
        // Continuations run on the pool, not on the thread that completes a whole call's charges one by one.
        : TaskCompletionSource<ChargeReply>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public RedisKey[] Keys { get; } = keys;

        public RedisValue[] Args { get; } = args;

        public bool CancelIfAbandoned() => cancellationToken.IsCancellationRequested && TrySetCanceled(cancellationToken);
    }
}

/// <summary>What the script answered for one charge (see <see cref="ChargeScript"/>).</summary>
internal readonly record struct ChargeReply(long Outcome, long Exhausted, long StepsLeft, long RiskLeft, long WindowStart);
