using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Dpop;

/// <summary>
/// The identity of one proof in a replay store: the first 128 bits of SHA-256 over the key thumbprint and the
/// <c>jti</c>. Fixed-size whatever the client sends, and it keeps the client's strings out of store keys.
/// </summary>
public static class DpopReplayKey
{
    public static UInt128 Compute(string thumbprint, string jti)
    {
        ArgumentNullException.ThrowIfNull(thumbprint);
        ArgumentNullException.ThrowIfNull(jti);

        // The thumbprint is base64url, so the newline cannot occur in it: (a, b\nc) and (a\nb, c) never collide.
        var text = string.Concat(thumbprint, "\n", jti);
        var length = Encoding.UTF8.GetByteCount(text);
        var bytes = length <= 1024 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(text, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return BinaryPrimitives.ReadUInt128BigEndian(hash);
    }

    /// <summary>Lowercase hex of <see cref="Compute"/>, for key names.</summary>
    public static string ToHex(UInt128 key) => key.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);
}
