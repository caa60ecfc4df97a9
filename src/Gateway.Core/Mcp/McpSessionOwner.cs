using System.Security.Cryptography;
using System.Text;

namespace Gateway.Mcp;

/// <summary>
/// The (<c>sub</c>, <c>agent</c>) pair that owns an MCP session, held only as the first 128 bits of SHA-256 over
/// the two: stores never see who the user is, and the value is fixed-size whatever the token carries.
/// </summary>
public readonly record struct McpSessionOwner(UInt128 Digest)
{
    public static McpSessionOwner Of(string subject, string agent)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(agent);

        // Lengths first, so ("a\nb", "c") and ("a", "b\nc") never collide whatever the strings contain.
        var text = string.Concat(subject.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ":", subject, agent);
        var length = Encoding.UTF8.GetByteCount(text);
        var bytes = length <= 1024 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(text, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return new McpSessionOwner(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(hash));
    }

    /// <summary>Lowercase hex, as stored in Redis.</summary>
    public string ToHex() => Digest.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads <see cref="ToHex"/> back; false for anything else.</summary>
    public static bool TryParseHex(string? text, out McpSessionOwner owner)
    {
        if (text is { Length: 32 } && UInt128.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var digest))
        {
            owner = new McpSessionOwner(digest);
            return true;
        }

        owner = default;
        return false;
    }
}
