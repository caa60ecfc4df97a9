using System.Security.Cryptography;
using System.Text;
using Gateway.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Admin;

/// <summary>
/// Checks <c>Authorization: Bearer ADMIN_KEY</c> against the SHA-256 digests in the policy
/// (<c>admin.key_sha256</c>) and the key in <c>GATEWAY_ADMIN_KEY</c>. Keys are compared as
/// digests in constant time, so neither the key nor how much of it matched leaks through timing.
/// </summary>
public sealed class AdminKeyAuthenticator
{
    public const string EnvironmentVariable = "GATEWAY_ADMIN_KEY";

    private readonly PolicyMonitor _policies;
    private readonly byte[]? _environmentDigest;

    public AdminKeyAuthenticator(PolicyMonitor policies, string? environmentKey)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _policies = policies;
        _environmentDigest = string.IsNullOrEmpty(environmentKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(environmentKey));
    }

    /// <summary>True when any admin key is configured; without one, every admin call is refused.</summary>
    public bool HasKeys => _environmentDigest is not null || _policies.Current.Policy.Admin.KeySha256.Count > 0;

    /// <summary>Returns a short, non-reversible id of the key used (for audit), or null when not authenticated.</summary>
    public string? Authenticate(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var values = request.Headers[HeaderNames.Authorization];
        if (values.Count != 1)
        {
            return null;
        }

        var value = values[0].AsSpan();
        if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var key = value["Bearer ".Length..].Trim();
        if (key.IsEmpty)
        {
            return null;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(key.ToString());
        SHA256.HashData(bytes, digest);
        CryptographicOperations.ZeroMemory(bytes);

        var matched = false;
        if (_environmentDigest is not null)
        {
            matched |= CryptographicOperations.FixedTimeEquals(digest, _environmentDigest);
        }

        Span<byte> configured = stackalloc byte[SHA256.HashSizeInBytes];
        foreach (var hex in _policies.Current.Policy.Admin.KeySha256)
        {
            if (Convert.FromHexString(hex, configured, out _, out var written) == System.Buffers.OperationStatus.Done && written == configured.Length)
            {
                matched |= CryptographicOperations.FixedTimeEquals(digest, configured);
            }
        }

        return matched ? KeyId(digest) : null;
    }

    /// <summary>The key id <see cref="Authenticate"/> returns for a key with this SHA-256 (64 hex characters), as in <c>admin.key_sha256</c>.</summary>
    public static string KeyIdOf(string keySha256) => KeyId(Convert.FromHexString(keySha256));

    // The key id is a digest of the digest: it names the key in audit events without letting
    // anyone match it against the policy's key_sha256 list.
    private static string KeyId(ReadOnlySpan<byte> keyDigest) => Convert.ToHexStringLower(SHA256.HashData(keyDigest))[..12];
}
