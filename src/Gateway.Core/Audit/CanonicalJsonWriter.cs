using System.Buffers;
using System.Globalization;
using System.Text;

namespace Gateway.Audit;

/// <summary>
/// Writes RFC 8785 (JCS) canonical JSON as UTF-8: no whitespace, JCS string escaping, integers only.
/// The caller writes object members in canonical order (sorted by UTF-16 code units); this type
/// does not sort, so the hot path never builds a property list. <see cref="JsonCanonicalizer"/> is
/// the general form that sorts, and tests hold the two to the same output.
/// </summary>
/// <remarks>
/// <see cref="System.Text.Json.Utf8JsonWriter"/> is not used: every encoder it offers escapes more
/// than JCS allows (non-ASCII, <c>+</c>, <c>&lt;</c>) or spells control characters with upper-case
/// hex, and a hash over canonical JSON must match any other JCS implementation byte for byte.
/// </remarks>
internal sealed class CanonicalJsonWriter
{
    /// <summary>The largest integer JSON can carry exactly through an IEEE 754 double (I-JSON, RFC 7493).</summary>
    public const long MaxSafeInteger = (1L << 53) - 1;

    private const int MaxDepth = 64;

    private readonly IBufferWriter<byte> _output;

    // One bit per open container: set once it holds an item, so the next item is preceded by a comma.
    private ulong _hasItems;
    private int _depth;
    private bool _afterName;

    public CanonicalJsonWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    public void StartObject()
    {
        BeforeValue();
        Open((byte)'{');
    }

    public void EndObject() => Close((byte)'}');

    public void StartArray()
    {
        BeforeValue();
        Open((byte)'[');
    }

    public void EndArray() => Close((byte)']');

    /// <summary>Writes a member name; the next call writes its value.</summary>
    public void Name(string name)
    {
        BeforeValue();
        WriteQuoted(name);
        WriteByte((byte)':');
        _afterName = true;
    }

    public void String(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        BeforeValue();
        WriteQuoted(value);
    }

    public void Integer(long value)
    {
        if (value is > MaxSafeInteger or < -MaxSafeInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Canonical JSON carries integers up to 2^53-1 in magnitude only.");
        }

        BeforeValue();
        var span = _output.GetSpan(20);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        _output.Advance(written);
    }

    public void Integer(long? value)
    {
        if (value is { } number)
        {
            Integer(number);
        }
        else
        {
            Null();
        }
    }

    public void Boolean(bool value)
    {
        BeforeValue();
        WriteAscii(value ? "true"u8 : "false"u8);
    }

    public void Null()
    {
        BeforeValue();
        WriteAscii("null"u8);
    }

    /// <summary>Writes a value that is already canonical JSON (written by this type), as it is.</summary>
    public void Raw(ReadOnlySpan<byte> canonicalJson)
    {
        BeforeValue();
        WriteAscii(canonicalJson);
    }

    public void Member(string name, string? value)
    {
        Name(name);
        String(value);
    }

    public void Member(string name, long? value)
    {
        Name(name);
        Integer(value);
    }

    private void Open(byte bracket)
    {
        if (_depth == MaxDepth)
        {
            throw new InvalidOperationException($"Canonical JSON deeper than {MaxDepth} levels is not written.");
        }

        WriteByte(bracket);
        _depth++;
        _hasItems &= ~(1UL << (_depth - 1));
    }

    private void Close(byte bracket)
    {
        _depth--;
        WriteByte(bracket);
    }

    private void BeforeValue()
    {
        if (_afterName)
        {
            _afterName = false;
            return;
        }

        if (_depth == 0)
        {
            return;
        }

        var bit = 1UL << (_depth - 1);
        if ((_hasItems & bit) != 0)
        {
            WriteByte((byte)',');
        }

        _hasItems |= bit;
    }

    /// <summary>
    /// RFC 8785 section 3.2.2.2: only <c>"</c>, <c>\</c> and U+0000..U+001F are escaped, the five
    /// with a short form as <c>\b \t \n \f \r</c>, the rest as <c>\u00hh</c> in lower case; every
    /// other character is written as itself in UTF-8. A lone surrogate cannot be written as UTF-8
    /// and becomes U+FFFD: what is hashed is always what is written.
    /// </summary>
    private void WriteQuoted(string value)
    {
        WriteByte((byte)'"');
        var text = value.AsSpan();

        // Almost every string needs no escape: find the next one with a vectorized search, not char by char.
        int next;
        while ((next = text.IndexOfAny(MustEscape)) >= 0)
        {
            WriteUtf8(text[..next]);
            WriteEscape(text[next]);
            text = text[(next + 1)..];
        }

        WriteUtf8(text);
        WriteByte((byte)'"');
    }

    private static readonly SearchValues<char> MustEscape = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f");

    private void WriteEscape(char c)
    {
        switch (c)
        {
            case '"':
                WriteAscii("\\\""u8);
                break;
            case '\\':
                WriteAscii("\\\\"u8);
                break;
            case '\b':
                WriteAscii("\\b"u8);
                break;
            case '\t':
                WriteAscii("\\t"u8);
                break;
            case '\n':
                WriteAscii("\\n"u8);
                break;
            case '\f':
                WriteAscii("\\f"u8);
                break;
            case '\r':
                WriteAscii("\\r"u8);
                break;
            default:
                var span = _output.GetSpan(6);
                "\\u00"u8.CopyTo(span);
                span[4] = HexDigit(c >> 4);
                span[5] = HexDigit(c & 0xF);
                _output.Advance(6);
                break;
        }
    }

    private static byte HexDigit(int value) => (byte)(value < 10 ? '0' + value : 'a' + value - 10);

    private void WriteUtf8(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        // Encoding.UTF8 replaces a lone surrogate with U+FFFD (EF BF BD) rather than throwing.
        var span = _output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        var written = Encoding.UTF8.GetBytes(text, span);
        _output.Advance(written);
    }

    private void WriteAscii(ReadOnlySpan<byte> bytes)
    {
        var span = _output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        _output.Advance(bytes.Length);
    }

    private void WriteByte(byte value)
    {
        var span = _output.GetSpan(1);
        span[0] = value;
        _output.Advance(1);
    }
}
