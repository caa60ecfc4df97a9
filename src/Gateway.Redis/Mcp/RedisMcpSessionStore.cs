using System.Security.Cryptography;
using System.Text;
using Gateway.Mcp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Redis.Mcp;

/// <summary>
/// MCP session bindings in Redis, shared by every replica, so a session opened through one replica is held to its
/// owner on all of them. A bind is one <c>SET key owner NX GET PX lifetime</c> (atomic on the server: the first
/// owner wins and later binds read it back); a lookup is one <c>GETEX key PX lifetime</c>, which renews the
/// binding. Each call touches one key, so it runs unchanged on Redis Cluster. The key
/// (<c>{prefix}mcp:{{digest}}</c>) holds a digest of the session id, never the id itself, and the value holds the
/// owner's digest (see <see cref="McpSessionOwner"/>), never the subject.
/// </summary>
public sealed partial class RedisMcpSessionStore : IMcpSessionStore
{
    private readonly IDatabase _database;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    /// <param name="connection">The process's one shared multiplexer (see <see cref="GatewayRedisConnection"/>).</param>
    /// <param name="keyPrefix">Prefix of every key. Default <c>gw:</c>, as the other stores'.</param>
    /// <param name="timeout">Longest a call may take before it counts as unavailable. Default 250 ms.</param>
    /// <param name="logger">Logs failures (never keys or session ids).</param>
    public RedisMcpSessionStore(IConnectionMultiplexer connection, string keyPrefix = "gw:", TimeSpan? timeout = null, ILogger<RedisMcpSessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(keyPrefix);

        // A brace in the prefix would become the hash tag and put every session in one cluster slot.
        if (keyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("The key prefix may not contain '{' or '}'.", nameof(keyPrefix));
        }

        _database = connection.GetDatabase();
        _prefix = keyPrefix;
        _timeout = timeout ?? TimeSpan.FromMilliseconds(250);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public async ValueTask<McpSessionOwner> BindAsync(string sessionId, McpSessionOwner owner, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);

        // SET NX GET (Redis 7): sets when absent and answers the earlier value either way, in one atomic step.
        var earlier = await RunAsync(() => _database.StringSetAndGetAsync(Key(sessionId), owner.ToHex(), lifetime, false, When.NotExists), cancellationToken);
        if (earlier.IsNull)
        {
            return owner;
        }

        return McpSessionOwner.TryParseHex(earlier, out var bound)
            ? bound
            : throw new McpSessionStoreUnavailableException("The Redis MCP session store holds a value it did not write.");
    }

    public async ValueTask<McpSessionOwner?> FindAsync(string sessionId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);

        var value = await RunAsync(() => _database.StringGetSetExpiryAsync(Key(sessionId), lifetime), cancellationToken);
        if (value.IsNull)
        {
            return null;
        }

        return McpSessionOwner.TryParseHex(value, out var owner)
            ? owner
            : throw new McpSessionStoreUnavailableException("The Redis MCP session store holds a value it did not write.");
    }

    public async ValueTask RemoveAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        await RunAsync(() => _database.KeyDeleteAsync(Key(sessionId)), cancellationToken);
    }

    private RedisKey Key(string sessionId)
    {
        var length = Encoding.UTF8.GetByteCount(sessionId);
        var bytes = length <= 512 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(sessionId, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return $"{_prefix}mcp:{{{Convert.ToHexStringLower(hash[..16])}}}";
    }

    private async Task<T> RunAsync<T>(Func<Task<T>> command, CancellationToken cancellationToken)
    {
        try
        {
            // StackExchange.Redis commands take no CancellationToken: the wait is bounded here instead.
            return await command().WaitAsync(_timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or TimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new McpSessionStoreUnavailableException("The Redis MCP session store could not be reached.", ex);
        }
    }

    [LoggerMessage(EventId = 41, Level = LogLevel.Debug, Message = "Redis MCP session store call failed.")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);
}
