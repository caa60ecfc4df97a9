using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Gateway.Redis.Budgets;

/// <summary>
/// Key layout: <c>{prefix}{{sub digest}}:steps:{jti digest}</c> and <c>{prefix}{{sub digest}}:risk:{agent digest}</c>.
/// The sub never changes down a delegation chain, so tagging every key with it puts all keys of one charge
/// in one Redis Cluster slot. Digests rather than raw values keep keys short and fixed-length whatever a
/// token carries, keep personal data out of key names, and stop a brace in a value from moving the tag.
/// </summary>
internal sealed class BudgetKeys
{
    private readonly string _prefix;

    public BudgetKeys(string prefix)
    {
        // A brace in the prefix would become the hash tag and put every account in one slot.
        if (prefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("The key prefix may not contain '{' or '}'.", nameof(prefix));
        }

        _prefix = prefix;
    }

    public static string SubjectTag(string subject) => Digest(subject);

    public RedisKey Steps(string subjectTag, string jti) => $"{_prefix}{{{subjectTag}}}:steps:{Digest(jti)}";

    public RedisKey Risk(string subjectTag, string agent) => $"{_prefix}{{{subjectTag}}}:risk:{Digest(agent)}";

    /// <summary>First 128 bits of SHA-256, lowercase hex: collisions are out of reach, keys stay short.</summary>
    internal static string Digest(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var bytes = length <= 256 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(value, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return Convert.ToHexStringLower(hash[..16]);
    }
}
