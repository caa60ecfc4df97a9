using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Tokens;

/// <summary>
/// SHA-256 of a token's bytes, as four machine words: a fixed-size, allocation-free cache key that does not
/// keep the token itself in memory longer than the request does.
/// </summary>
internal readonly struct TokenDigest : IEquatable<TokenDigest>
{
    private const int StackLimit = 2048;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    private TokenDigest(ReadOnlySpan<byte> hash)
    {
        _a = MemoryMarshal.Read<ulong>(hash);
        _b = MemoryMarshal.Read<ulong>(hash[8..]);
        _c = MemoryMarshal.Read<ulong>(hash[16..]);
        _d = MemoryMarshal.Read<ulong>(hash[24..]);
    }

    /// <summary>
    /// False when <paramref name="token"/> is not pure ASCII (so not a JWS). Hashing the ASCII bytes, not UTF-16,
    /// halves the bytes hashed, and refusing anything else up front means no two distinct strings share bytes.
    /// </summary>
    public static bool TryCompute(ReadOnlySpan<char> token, out TokenDigest digest)
    {
        byte[]? rented = null;
        var bytes = token.Length <= StackLimit ? stackalloc byte[token.Length] : (rented = ArrayPool<byte>.Shared.Rent(token.Length));
        try
        {
            if (Ascii.FromUtf16(token, bytes, out var written) != OperationStatus.Done)
            {
                digest = default;
                return false;
            }

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(bytes[..written], hash);
            digest = new TokenDigest(hash);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented, clearArray: true);
            }
        }
    }

    public bool Equals(TokenDigest other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is TokenDigest other && Equals(other);

    // SHA-256 output is uniform, so any 32 bits of it make a good hash code; nobody can aim collisions at buckets.
    public override int GetHashCode() => (int)_a;

    public static bool operator ==(TokenDigest left, TokenDigest right) => left.Equals(right);

    public static bool operator !=(TokenDigest left, TokenDigest right) => !left.Equals(right);
}
