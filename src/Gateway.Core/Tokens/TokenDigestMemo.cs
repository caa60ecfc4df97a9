using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Gateway.Tokens;

/// <summary>
/// The <see cref="TokenDigest"/> of a token, remembered for as long as the string holding it lives. Kestrel
/// hands a keep-alive connection's repeated <c>Authorization</c> value back as the same string instance
/// (it reuses a header's string when the bytes are the same as the previous request's), so an agent's
/// repeated calls find their digest here instead of hashing the token again. Keyed by reference: the
/// string is never kept alive by this table, and a different string always gets its own digest.
/// </summary>
internal sealed class TokenDigestMemo
{
    private readonly ConditionalWeakTable<string, Entry> _entries = [];

    public bool TryGet(ReadOnlyMemory<char> token, out TokenDigest digest)
    {
        if (MemoryMarshal.TryGetString(token, out var text, out var start, out var length)
            && _entries.TryGetValue(text, out var entry)
            && entry.Start == start
            && entry.Length == length)
        {
            digest = entry.Digest;
            return true;
        }

        digest = default;
        return false;
    }

    public void Remember(ReadOnlyMemory<char> token, in TokenDigest digest)
    {
        // Only a slice of a string can be remembered (a token from an array has no stable identity).
        if (MemoryMarshal.TryGetString(token, out var text, out var start, out var length))
        {
            _entries.AddOrUpdate(text, new Entry(start, length, digest));
        }
    }

    private sealed record Entry(int Start, int Length, TokenDigest Digest);
}
