using System.Security.Cryptography;
using System.Text;

namespace Gateway.Audit;

/// <summary>
/// The <c>admin</c> member (an extension to the contract's fields): what an admin action did and
/// which admin key did it, by a short digest, never the key.
/// </summary>
public sealed record AuditAdmin
{
    /// <summary>Digits of <see cref="KeyId"/>: 64 bits, enough to tell a handful of keys apart.</summary>
    public const int KeyIdLength = 16;

    /// <summary>What was done, e.g. <c>revocation.create</c>, <c>approval.approve</c>, <c>audit.dropped</c>.</summary>
    public required string Action { get; init; }

    /// <summary>What it was done to, e.g. <c>jti:abc</c> or an approval id; null when nothing in particular.</summary>
    public string? Target { get; init; }

    /// <summary>
    /// <c>key_id</c>: the first <see cref="KeyIdLength"/> hex digits of the key's SHA-256, so it matches
    /// the start of the key's entry in <c>admin.key_sha256</c>. Null when no admin key was involved.
    /// </summary>
    public string? KeyId { get; init; }

    /// <summary>The <see cref="KeyId"/> of an admin bearer key.</summary>
    public static string KeyIdOf(string adminKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(adminKey);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(adminKey), hash);
        return Convert.ToHexStringLower(hash[..(KeyIdLength / 2)]);
    }

    /// <summary>The <see cref="KeyId"/> from a key's SHA-256 as configured in <c>admin.key_sha256</c>.</summary>
    public static string KeyIdFromSha256(string keySha256Hex)
    {
        ArgumentException.ThrowIfNullOrEmpty(keySha256Hex);
        if (keySha256Hex.Length != 64 || !keySha256Hex.AsSpan().ContainsOnlyHex())
        {
            throw new ArgumentException("Expected 64 hex digits.", nameof(keySha256Hex));
        }

        return keySha256Hex[..KeyIdLength].ToLowerInvariant();
    }
}
