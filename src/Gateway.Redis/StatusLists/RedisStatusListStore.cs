using Gateway.StatusLists;
using StackExchange.Redis;

namespace Gateway.Redis.StatusLists;

/// <summary>
/// The published status list in Redis, shared by every replica: a counter hands out indices (so two replicas never
/// give two children one index), a bitmap holds the bits, and one set per <c>jti</c> lists the indices it covers,
/// expiring with the last child recorded under it. Every key carries the hash tag <c>{statuslist}</c>: each script
/// touches several of them atomically, which Redis Cluster allows only within one slot.
/// </summary>
/// <remarks>
/// Redis numbers a string's bits from the most significant bit of each byte; a status list from the least
/// significant. The scripts write entry i at bit <c>i - i % 8 + 7 - i % 8</c>, so the bitmap's bytes are the list's
/// bytes as they are, and reading it is one <c>GET</c>.
/// </remarks>
public sealed class RedisStatusListStore : IStatusListStore
{
    // KEYS: 1 the counter, 2 the bitmap, 3.. the sets of the child's jti and of each ancestor. ARGV: 1 size, 2 TTL (ms).
    private const string AllocateScript = """
        local n = redis.call('INCR', KEYS[1])
        local size = tonumber(ARGV[1])
        local index = (n - 1) % size
        redis.call('SETBIT', KEYS[2], index - index % 8 + 7 - index % 8, 0)
        for i = 3, #KEYS do
          redis.call('SADD', KEYS[i], index)
          if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then
            redis.call('PEXPIRE', KEYS[i], ARGV[2])
          end
        end
        return index
        """;

    // KEYS: 1 the jti's set, 2 the bitmap.
    private const string RevokeScript = """
        local members = redis.call('SMEMBERS', KEYS[1])
        for _, member in ipairs(members) do
          local index = tonumber(member)
          redis.call('SETBIT', KEYS[2], index - index % 8 + 7 - index % 8, 1)
        end
        return #members
        """;

    private readonly IDatabase _database;
    private readonly string _prefix;
    private readonly TimeProvider _time;

    public RedisStatusListStore(IConnectionMultiplexer connection, string keyPrefix = "gw:", TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        if (keyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("The key prefix may not contain '{' or '}'.", nameof(keyPrefix));
        }

        _database = connection.GetDatabase();
        _prefix = keyPrefix;
        _time = timeProvider ?? TimeProvider.System;
    }

    private RedisKey Counter => $"{_prefix}{{statuslist}}:next";

    private RedisKey Bits => $"{_prefix}{{statuslist}}:bits";

    // The first {...} of a key is its hash tag, so a brace inside a jti cannot move the key to another slot.
    private RedisKey Jti(string jti) => $"{_prefix}{{statuslist}}:jti:{jti}";

    public async ValueTask<long> AllocateAsync(string jti, IReadOnlyList<string> ancestors, DateTimeOffset expires, int size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jti);
        ArgumentNullException.ThrowIfNull(ancestors);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 8);
        var ttl = Math.Max((long)Math.Ceiling((expires - _time.GetUtcNow()).TotalMilliseconds), 1);
        RedisKey[] keys = [Counter, Bits, Jti(jti), .. ancestors.Select(Jti)];
        var result = await CallAsync(_database.ScriptEvaluateAsync(AllocateScript, keys, [size, ttl]), cancellationToken);
        return (long)result;
    }

    public async ValueTask<int> RevokeAsync(string jti, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jti);
        var result = await CallAsync(_database.ScriptEvaluateAsync(RevokeScript, [Jti(jti), Bits]), cancellationToken);
        return (int)result;
    }

    public async ValueTask<byte[]> ReadAsync(int size, CancellationToken cancellationToken)
    {
        var value = await CallAsync(_database.StringGetAsync(Bits), cancellationToken);
        var bytes = new byte[size / 8];

        // Redis keeps the string only as long as its highest bit set so far; the rest of the list is zero.
        ((byte[]?)value)?.AsSpan(0, Math.Min(bytes.Length, ((byte[])value!).Length)).CopyTo(bytes);
        return bytes;
    }

    private static async Task<T> CallAsync<T>(Task<T> command, CancellationToken cancellationToken)
    {
        try
        {
            return await command.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            throw new StatusListStoreUnavailableException("The Redis status list store could not be reached.", ex);
        }
    }
}
