namespace Gateway.Redis.Revocation;

/// <summary>Storing and announcing a rule as one script: atomic, one round trip, and no announcement of a rule that was not stored.</summary>
internal static class AddRuleScript
{
    // KEYS: 1 the rule, 2 the index, 3 the version.
    // ARGV: 1 the rule's JSON, 2 its TTL (ms), 3 its expiry (Unix ms), 4 its id, 5 a fresh epoch (used only when
    //       the version hash does not exist yet), 6 now (Unix ms), 7 the channel.
    // Returns 1 when stored, 0 when a rule with that id was already there (nothing changes, nothing is announced).
    //
    // The index is pruned of expired ids here, so it never grows past the live rules plus those expired since the
    // last add, and its own TTL is only ever extended, to the latest expiry, so Redis drops it with the last rule.
    // PUBLISH names a channel, not a key, so the script stays Cluster-safe.
    public const string Text = """
        if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') == false then
          return 0
        end
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])
        local ttl = redis.call('PTTL', KEYS[2])
        if ttl < tonumber(ARGV[2]) then
          redis.call('PEXPIRE', KEYS[2], ARGV[2])
        end
        redis.call('HSETNX', KEYS[3], 'epoch', ARGV[5])
        redis.call('HINCRBY', KEYS[3], 'seq', 1)
        redis.call('PUBLISH', ARGV[7], ARGV[1])
        return 1
        """;
}
