using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Gateway.Dpop;

/// <summary>
/// Server nonces for DPoP (RFC 9449 section 8), stateless: a nonce is the time it was issued and an HMAC of
/// that time under the gateway's nonce key, so any replica holding the same key accepts it without a store.
/// It is fresh for the policy's <c>nonce_lifetime</c>. A nonce proves nothing about who holds it; it only
/// stops a client from using proofs it made in advance (a key that leaked from a device cannot be used to
/// pre-compute proofs for later).
/// </summary>
public sealed class DpopNonces
{
    /// <summary>Shortest nonce key accepted: 256 bits, the HMAC-SHA256 block output.</summary>
    public const int MinKeyBytes = 32;

    private const int TimeBytes = 8;
    private const int MacBytes = 16;
    private const int NonceBytes = TimeBytes + MacBytes;

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    /// <param name="key">At least 32 bytes. Replicas behind one load balancer must share it (configuration <c>Gateway:Dpop:NonceKey</c>).</param>
    /// <param name="time">The clock nonces are dated with.</param>
    public DpopNonces(byte[] key, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(time);
        if (key.Length < MinKeyBytes)
        {
            throw new ArgumentException($"The DPoP nonce key must be at least {MinKeyBytes} bytes.", nameof(key));
        }

        _key = (byte[])key.Clone();
        _time = time;
    }

    /// <summary>A key of random bytes, for a single replica (a restart invalidates its nonces: clients just retry once).</summary>
    public static DpopNonces WithRandomKey(TimeProvider time) => new(RandomNumberGenerator.GetBytes(MinKeyBytes), time);

    /// <summary>Reads a base64 or base64url key of at least 32 bytes, as configured; throws with a useful message otherwise.</summary>
    public static DpopNonces FromConfiguredKey(string key, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(key.Trim().TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException("Gateway:Dpop:NonceKey must be base64 (or base64url) of at least 32 random bytes.", ex);
        }

        if (bytes.Length < MinKeyBytes)
        {
            throw new InvalidOperationException("Gateway:Dpop:NonceKey must be base64 (or base64url) of at least 32 random bytes.");
        }

        return new DpopNonces(bytes, time);
    }

    /// <summary>A fresh nonce, 32 base64url characters.</summary>
    public string Issue()
    {
        Span<byte> nonce = stackalloc byte[NonceBytes];
        BinaryPrimitives.WriteInt64BigEndian(nonce, _time.GetUtcNow().ToUnixTimeSeconds());
        Mac(nonce[..TimeBytes], nonce[TimeBytes..]);
        return Base64Url.EncodeToString(nonce);
    }

    /// <summary>True when <paramref name="nonce"/> was issued with this key no longer than <paramref name="lifetime"/> ago.</summary>
    public bool IsFresh(string? nonce, TimeSpan lifetime, TimeSpan skew)
    {
        Span<byte> bytes = stackalloc byte[NonceBytes];
        if (nonce is null || nonce.Length != Base64Url.GetEncodedLength(NonceBytes)
            || !Base64Url.TryDecodeFromChars(nonce, bytes, out var written) || written != NonceBytes)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(bytes[..TimeBytes], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes[TimeBytes..]))
        {
            return false;
        }

        var issued = BinaryPrimitives.ReadInt64BigEndian(bytes);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        return issued <= now + (long)skew.TotalSeconds && now - issued <= (long)lifetime.TotalSeconds;
    }

    private void Mac(ReadOnlySpan<byte> time, Span<byte> destination)
    {
        Span<byte> full = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, time, full);
        full[..MacBytes].CopyTo(destination);
    }
}
