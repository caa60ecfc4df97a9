using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Audit;

/// <summary>
/// The hash-chain rule: <c>hash</c> = lowercase hex SHA-256 of the UTF-8 bytes of <c>prev_hash</c>
/// followed by the RFC 8785 canonical JSON of the event without its <c>hash</c> member; the first
/// event of a chain has <c>prev_hash</c> = 64 zeros.
/// </summary>
public static class AuditChain
{
    /// <summary>The <c>prev_hash</c> of a chain's first event.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>Hex digits of a hash.</summary>
    public const int HashLength = 64;

    public static string ComputeHash(string prevHash, ReadOnlySpan<byte> canonicalJsonWithoutHash)
    {
        ArgumentNullException.ThrowIfNull(prevHash);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        return ComputeHash(hash, prevHash, canonicalJsonWithoutHash);
    }

    internal static string ComputeHash(IncrementalHash hash, string prevHash, ReadOnlySpan<byte> canonicalJsonWithoutHash)
    {
        // prev_hash is 64 ASCII hex digits when well formed, but the rule says "its UTF-8 bytes", so a
        // malformed one read back from a file is hashed as the same bytes the writer would have used.
        Span<byte> prefix = stackalloc byte[HashLength];
        var prevBytes = prevHash.Length == HashLength && Ascii.IsValid(prevHash)
            ? prefix[..Encoding.ASCII.GetBytes(prevHash, prefix)]
            : Encoding.UTF8.GetBytes(prevHash);
        hash.AppendData(prevBytes);
        hash.AppendData(canonicalJsonWithoutHash);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>
    /// The hash of an event whose <c>prev_hash</c> bytes and canonical JSON already stand side by side in
    /// one buffer (the writer's case): one SHA-256 call instead of an incremental hash.
    /// </summary>
    internal static string ComputeHash(ReadOnlySpan<byte> prevHashThenCanonicalJson)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(prevHashThenCanonicalJson, digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>
    /// Writes <paramref name="withoutHash"/> with <c>,"hash":"…"</c> inserted at <paramref name="hashOffset"/>
    /// (from <see cref="AuditEventSerializer.WriteWithoutHash"/>): the event's complete canonical JSON.
    /// </summary>
    internal static void SpliceHash(ReadOnlySpan<byte> withoutHash, int hashOffset, string hash, IBufferWriter<byte> output)
    {
        ReadOnlySpan<byte> name = ",\"hash\":\""u8;
        var length = withoutHash.Length + name.Length + hash.Length + 1;
        var span = output.GetSpan(length);
        withoutHash[..hashOffset].CopyTo(span);
        var at = hashOffset;
        name.CopyTo(span[at..]);
        at += name.Length;

        // A hash is hex digits, so it needs no escaping.
        at += Encoding.ASCII.GetBytes(hash, span[at..]);
        span[at++] = (byte)'"';
        withoutHash[hashOffset..].CopyTo(span[at..]);
        output.Advance(length);
    }
}
