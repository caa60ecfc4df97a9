using System.Buffers.Text;
using System.IO.Compression;

namespace Gateway.StatusLists;

/// <summary>
/// A decoded Token Status List (draft-ietf-oauth-status-list section 4): <see cref="Bits"/> bits per token, packed
/// least significant bits first (entry 0 is the lowest bits of byte 0). Immutable once decoded.
/// </summary>
public sealed class StatusList
{
    /// <summary>Status 0x00: the token is valid. Every other value (INVALID, SUSPENDED, application-specific) refuses it.</summary>
    public const byte Valid = 0x00;

    private readonly byte[] _bytes;

    private StatusList(int bits, byte[] bytes)
    {
        Bits = bits;
        _bytes = bytes;
    }

    /// <summary>1, 2, 4 or 8.</summary>
    public int Bits { get; }

    /// <summary>How many entries the list holds.</summary>
    public long Count => _bytes.LongLength * 8 / Bits;

    /// <summary>The decompressed size in bytes.</summary>
    public int ByteCount => _bytes.Length;

    public static bool IsValidBits(long bits) => bits is 1 or 2 or 4 or 8;

    /// <summary>The status of entry <paramref name="index"/>; false when the list has no such entry.</summary>
    public bool TryGetStatus(long index, out byte status)
    {
        status = 0;
        if (index < 0 || index >= Count)
        {
            return false;
        }

        var perByte = 8 / Bits;
        var shift = (int)(index % perByte) * Bits;
        status = (byte)((_bytes[index / perByte] >> shift) & ((1 << Bits) - 1));
        return true;
    }

    /// <summary>
    /// Decodes <c>lst</c>: base64url of the ZLIB (RFC 1950) compressed bytes. Decompression stops at
    /// <paramref name="maxBytes"/>, so a small, highly compressed body cannot make the gateway allocate gigabytes.
    /// </summary>
    public static StatusList? TryDecode(int bits, string lst, int maxBytes, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(lst);
        problem = null;
        if (!IsValidBits(bits))
        {
            problem = "'status_list.bits' must be 1, 2, 4 or 8";
            return null;
        }

        if (lst.Length == 0 || !Base64Url.IsValid(lst.AsSpan()))
        {
            problem = "'status_list.lst' is not base64url";
            return null;
        }

        try
        {
            using var compressed = new MemoryStream(Base64Url.DecodeFromChars(lst));
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = zlib.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > maxBytes)
                {
                    problem = $"the list decompresses to more than {maxBytes} bytes (status_list_cache.max_bytes)";
                    return null;
                }

                output.Write(buffer, 0, read);
            }

            if (output.Length == 0)
            {
                problem = "the list is empty";
                return null;
            }

            return new StatusList(bits, output.ToArray());
        }
        catch (InvalidDataException)
        {
            problem = "'status_list.lst' is not ZLIB-compressed data";
            return null;
        }
    }

    /// <summary>The <c>lst</c> of <paramref name="bytes"/>: ZLIB-compressed, base64url, as a status issuer publishes it.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(bytes);
        }

        return Base64Url.EncodeToString(output.GetBuffer().AsSpan(0, (int)output.Length));
    }
}
