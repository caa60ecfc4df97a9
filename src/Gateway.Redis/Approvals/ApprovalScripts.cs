namespace Gateway.Redis.Approvals;

/// <summary>
/// Every approval state change as one Lua script: atomic on the server, whichever replica sends it.
/// Keys always come in KEYS (never built in a script). Times are Unix milliseconds sent by the
/// replica, so a record expires by the gateways' clock, and TTLs are sent as durations.
/// A record is a hash: <c>data</c> (the fixed part, JSON), <c>state</c>, <c>exp</c>, and once decided
/// <c>at</c>, <c>by</c>, <c>bysub</c>, <c>note</c>, once used <c>used</c>, <c>usedby</c>.
/// </summary>
internal static class ApprovalScripts
{
    // KEYS: 1 record, 2 index, 3 call, 4 open set of (sub, agent).
    // ARGV: 1 id, 2 data, 3 expires, 4 record TTL, 5 now, 6 max open, 7 record forgotten at, 8 call TTL.
    // Returns {0, id} created, {1, existing id} the same call is open, {2, oldest open expiry} too many.
    public const string Create = """
        local existing = redis.call('GET', KEYS[3])
        if existing then
          return {1, existing}
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
        if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then
          local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
          return {2, oldest[2]}
        end
        redis.call('HSET', KEYS[1], 'data', ARGV[2], 'state', 'pending', 'exp', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[8])
        redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
        redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
        -- The sets live as long as their longest-lived member, and are only ever extended.
        if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[8]) then redis.call('PEXPIRE', KEYS[4], ARGV[8]) end
        if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
        return {0, ARGV[1]}
        """;

    // KEYS: 1 record. ARGV: 1 now, 2 'approved' or 'denied', 3 by, 4 by subject, 5 note.
    // Returns {0, ''} not found, {1, state} done, {2, state} wrong state, {3, 'expired'} expired.
    public const string Decide = """
        local r = redis.call('HMGET', KEYS[1], 'state', 'exp')
        if not r[1] then return {0, ''} end
        if r[1] ~= 'pending' then return {2, r[1]} end
        if tonumber(r[2]) <= tonumber(ARGV[1]) then return {3, 'expired'} end
        redis.call('HSET', KEYS[1], 'state', ARGV[2], 'at', ARGV[1], 'by', ARGV[3], 'bysub', ARGV[4], 'note', ARGV[5])
        return {1, ARGV[2]}
        """;

    // KEYS: 1 record, 2 call. ARGV: 1 now, 2 decision id, 3 approval id. Returns as Decide.
    public const string Consume = """
        local r = redis.call('HMGET', KEYS[1], 'state', 'exp')
        if not r[1] then return {0, ''} end
        if r[1] ~= 'approved' then return {2, r[1]} end
        if tonumber(r[2]) <= tonumber(ARGV[1]) then return {3, 'expired'} end
        redis.call('HSET', KEYS[1], 'state', 'used', 'used', ARGV[1], 'usedby', ARGV[2])
        -- The same call may ask again once this approval is spent.
        if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
        return {1, 'used'}
        """;

    // KEYS: 1 record, 2 call. ARGV: 1 decision id, 2 approval id, 3 now. Returns 1 released, 0 not.
    public const string Release = """
        local r = redis.call('HMGET', KEYS[1], 'state', 'usedby', 'exp')
        if r[1] ~= 'used' or r[2] ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'state', 'approved')
        redis.call('HDEL', KEYS[1], 'used', 'usedby')
        local left = tonumber(r[3]) - tonumber(ARGV[3])
        if left > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', string.format('%d', left), 'NX') end
        return 1
        """;

    // KEYS: 1 record. ARGV: 1 now. Returns 1 when this call made the record expired.
    public const string Expire = """
        local r = redis.call('HMGET', KEYS[1], 'state', 'exp')
        if (r[1] == 'pending' or r[1] == 'approved') and tonumber(r[2]) <= tonumber(ARGV[1]) then
          redis.call('HSET', KEYS[1], 'state', 'expired')
          return 1
        end
        return 0
        """;
}
