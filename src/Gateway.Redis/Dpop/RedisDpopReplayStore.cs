using Gateway.Dpop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Redis.Dpop;

/// <summary>
/// Accepted DPoP proofs in Redis, shared by every replica: one <c>SET key 1 NX PX lifetime</c> per proof, which
/// is atomic on the server, so of two replicas that receive one proof at once exactly one accepts it. Each call
/// touches a single key, so it runs unchanged on Redis Cluster; the key
/// (<c>{prefix}dpop:{{digest}}</c>, see <see cref="DpopReplayKey"/>) is its own hash tag. The TTL makes Redis
/// forget proofs by itself once they could no longer be accepted anyway.
/// </summary>
public sealed partial class RedisDpopReplayStore : IDpopReplayStore
{
    private readonly IDatabase _database;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    /// <param name="connection">The process's one shared multiplexer (see <see cref="GatewayRedisConnection"/>).</param>
    /// <param name="keyPrefix">Prefix of every key. Default <c>gw:</c>, as the budget store's.</param>
    /// <param name="timeout">Longest a call may take before it counts as unavailable. Default 250 ms.</param>
    /// <param name="logger">Logs failures (never keys or proofs).</param>
    public RedisDpopReplayStore(IConnectionMultiplexer connection, string keyPrefix = "gw:", TimeSpan? timeout = null, ILogger<RedisDpopReplayStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(keyPrefix);

        // A brace in the prefix would become the hash tag and put every proof in one cluster slot.
        if (keyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("The key prefix may not contain '{' or '}'.", nameof(keyPrefix));
        }

        _database = connection.GetDatabase();
        _prefix = keyPrefix;
        _timeout = timeout ?? TimeSpan.FromMilliseconds(250);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public async ValueTask<bool> TryAcceptAsync(string thumbprint, string jti, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(thumbprint);
        ArgumentException.ThrowIfNullOrEmpty(jti);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);

        RedisKey key = $"{_prefix}dpop:{{{DpopReplayKey.ToHex(DpopReplayKey.Compute(thumbprint, jti))}}}";
        try
        {
            // StackExchange.Redis commands take no CancellationToken: the wait is bounded here instead. A SET that
            // timed out may still have been applied; the proof is then refused, and the client makes a new one.
            return await _database.StringSetAsync(key, 1, lifetime, When.NotExists).WaitAsync(_timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or TimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new DpopReplayStoreUnavailableException("The Redis DPoP replay store could not be reached.", ex);
        }
    }

    // Debug only: while Redis is down every call fails, and the budget store's circuit breaker already logs the outage.
    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Redis DPoP replay store call failed.")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);
}
