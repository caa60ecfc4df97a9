using System.Globalization;
using Gateway.Revocation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Redis.Revocation;

/// <summary>
/// Revocation rules in Redis, shared by every replica (layout in docs/revocation.md and <see cref="RevocationKeys"/>).
/// Each rule is a string key whose TTL ends at the rule's expiry, so Redis forgets it by itself; a sorted set lists
/// them without <c>SCAN</c>; a version hash lets a resync skip the list when nothing changed; added rules are
/// announced on a pub/sub channel by the same script that stores them (<see cref="AddRuleScript"/>).
/// </summary>
/// <remarks>
/// Rules are as durable as Redis: one that restarts empty forgets them, and replicas then drop them too at their next
/// resync (the version's epoch changes). Redis must not evict keys (<c>maxmemory-policy noeviction</c>).
/// </remarks>
public sealed partial class RedisRevocationStore : IRevocationStore
{
    private static readonly RedisValue[] VersionFields = ["epoch", "seq"];

    private readonly IDatabase _database;
    private readonly ISubscriber _subscriber;
    private readonly RevocationKeys _keys;
    private readonly int _batchSize;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Uses <paramref name="connection"/>, the process's one shared multiplexer (see <see cref="GatewayRedisConnection"/>).</summary>
    public RedisRevocationStore(
        IConnectionMultiplexer connection,
        RevocationStoreOptions? options = null,
        ILogger<RedisRevocationStore>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RevocationStoreOptions();
        options.Validate();
        _database = connection.GetDatabase();
        _subscriber = connection.GetSubscriber();
        _keys = new RevocationKeys(options.KeyPrefix);
        _batchSize = options.ListBatchSize;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public async ValueTask AddAsync(RevocationRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var now = _timeProvider.GetUtcNow();
        InMemoryRevocationStore.CheckStorable(rule, now);

        // The TTL is sent relative to this replica's clock, so a Redis whose clock differs cannot shorten it.
        var ttlMs = Math.Max((long)Math.Ceiling((rule.ExpiresAt - now).TotalMilliseconds), 1);
        RedisKey[] keys = [_keys.Rule(rule.Id), _keys.Index, _keys.Version];
        RedisValue[] args =
        [
            RevocationRuleJson.ToUtf8Bytes(rule),
            ttlMs,
            rule.ExpiresAt.ToUnixTimeMilliseconds(),
            rule.Id,
            Guid.NewGuid().ToString("N"),
            now.ToUnixTimeMilliseconds(),
            (string)_keys.Channel!,
        ];
        await CallAsync(_database.ScriptEvaluateAsync(AddRuleScript.Text, keys, args), cancellationToken);
    }

    public async ValueTask<IReadOnlyList<RevocationRule>> ListAsync(CancellationToken cancellationToken)
    {
        // Ids first, live ones only (score = expiry); then the rules, a batch per MGET, all batches in flight at
        // once. A rule that expires in between reads as nil and is skipped.
        var nowMs = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var ids = await CallAsync(_database.SortedSetRangeByScoreAsync(_keys.Index, nowMs, double.PositiveInfinity, Exclude.Start), cancellationToken);
        var batches = new List<Task<RedisValue[]>>((ids.Length / _batchSize) + 1);
        for (var start = 0; start < ids.Length; start += _batchSize)
        {
            var batch = ids.AsSpan(start, Math.Min(_batchSize, ids.Length - start));
            var keys = new RedisKey[batch.Length];
            for (var i = 0; i < batch.Length; i++)
            {
                keys[i] = _keys.Rule(batch[i].ToString());
            }

            batches.Add(_database.StringGetAsync(keys));
        }

        var values = await CallAsync(Task.WhenAll(batches), cancellationToken);
        var now = _timeProvider.GetUtcNow();
        var rules = new List<RevocationRule>(ids.Length);
        foreach (var batch in values)
        {
            foreach (var value in batch)
            {
                if (value.IsNull)
                {
                    continue;
                }

                if (!RevocationRuleJson.TryRead((byte[])value!, out var rule))
                {
                    LogUnreadableRule(_logger);
                    continue;
                }

                if (!rule.IsExpired(now))
                {
                    rules.Add(rule);
                }
            }
        }

        rules.Sort(static (a, b) => a.CreatedAt != b.CreatedAt ? a.CreatedAt.CompareTo(b.CreatedAt) : string.CompareOrdinal(a.Id, b.Id));
        return rules;
    }

    public async ValueTask<string> GetVersionAsync(CancellationToken cancellationToken)
    {
        var fields = await CallAsync(_database.HashGetAsync(_keys.Version, VersionFields), cancellationToken);

        // No hash yet (or Redis lost it): "" differs from any version read while rules existed.
        return fields[0].IsNull ? "" : string.Create(CultureInfo.InvariantCulture, $"{fields[0]}:{fields[1]}");
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(Action<RevocationRule> onAdded, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onAdded);
        void Handler(RedisChannel channel, RedisValue message)
        {
            if (message.IsNull || !RevocationRuleJson.TryRead((byte[])message!, out var rule))
            {
                LogUnreadableAnnouncement(_logger);
                return;
            }

            onAdded(rule);
        }

        try
        {
            await CallAsync(_subscriber.SubscribeAsync(_keys.Channel, Handler), cancellationToken);
        }
        catch (RevocationStoreUnavailableException)
        {
            // The multiplexer keeps a handler it could not subscribe and subscribes it on reconnect; the caller
            // will retry, so drop this one to be sure each rule is delivered once per subscription.
            _subscriber.Unsubscribe(_keys.Channel, Handler, CommandFlags.FireAndForget);
            throw;
        }

        // The multiplexer re-subscribes by itself after a reconnect; what was published meanwhile is lost,
        // which the synchronizer's resync makes up for.
        return new Subscription(this, Handler);
    }

    private async Task<T> CallAsync<T>(Task<T> command, CancellationToken cancellationToken)
    {
        try
        {
            return await command.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new RevocationStoreUnavailableException("The Redis revocation store could not be reached.", ex);
        }
    }

    private async Task CallAsync(Task command, CancellationToken cancellationToken)
    {
        try
        {
            await command.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new RevocationStoreUnavailableException("The Redis revocation store could not be reached.", ex);
        }
    }

    // Debug only: the synchronizer logs an outage once, and the admin endpoint answers it with 503.
    [LoggerMessage(EventId = 1311, Level = LogLevel.Debug, Message = "Redis revocation store call failed.")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Warning, Message = "Skipped a stored revocation rule that is not readable JSON of a rule.")]
    private static partial void LogUnreadableRule(ILogger logger);

    [LoggerMessage(EventId = 1313, Level = LogLevel.Warning, Message = "Skipped a revocation announcement that is not readable JSON of a rule.")]
    private static partial void LogUnreadableAnnouncement(ILogger logger);

    private sealed class Subscription(RedisRevocationStore store, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() =>
            await store.CallAsync(store._subscriber.UnsubscribeAsync(store._keys.Channel, handler), CancellationToken.None);
    }
}
