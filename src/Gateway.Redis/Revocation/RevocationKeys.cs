using StackExchange.Redis;

namespace Gateway.Redis.Revocation;

/// <summary>
/// Names of the revocation keys and channel. Every key carries the one hash tag <c>{revocations}</c>, so on
/// Redis Cluster they all live in one slot: the add script touches three of them atomically, and listing reads
/// many rules with one <c>MGET</c>, which Cluster allows only within a slot. The rules are small and rarely
/// written, so one shard holding them all costs nothing that matters. The channel is not a key: a Cluster
/// <c>PUBLISH</c> reaches subscribers on every node.
/// </summary>
internal sealed class RevocationKeys
{
    private readonly string _prefix;

    public RevocationKeys(string prefix)
    {
        // A brace in the prefix would become the hash tag instead of {revocations}.
        if (prefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("The key prefix may not contain '{' or '}'.", nameof(prefix));
        }

        _prefix = prefix;
        Index = $"{prefix}{{revocations}}:index";
        Version = $"{prefix}{{revocations}}:version";
        Channel = RedisChannel.Literal($"{prefix}revocations");
    }

    /// <summary>Sorted set: rule id scored by its expiry (Unix ms), so listing needs no <c>SCAN</c>.</summary>
    public RedisKey Index { get; }

    /// <summary>Hash: <c>epoch</c> (random, set when the hash is created) and <c>seq</c> (bumped by every add).</summary>
    public RedisKey Version { get; }

    /// <summary>Where added rules are announced, as their JSON.</summary>
    public RedisChannel Channel { get; }

    /// <summary>String: the rule's JSON, with a TTL ending at its expiry. Ids are checked to be [A-Za-z0-9_-].</summary>
    public RedisKey Rule(string id) => $"{_prefix}{{revocations}}:rule:{id}";
}
