using System.Buffers;
using System.Text.Json;

namespace Gateway.Audit;

/// <summary>
/// RFC 8785 (JSON Canonicalization Scheme) for any JSON text whose numbers are integers: members
/// sorted by the UTF-16 code units of their names, no whitespace, JCS string escaping. Used by
/// <see cref="AuditVerifier"/> to recompute a hash from a line as read, whatever order or spacing
/// the line has, and by tests as the reference the event writer must match.
/// </summary>
/// <remarks>
/// Numbers are limited to integers of magnitude up to 2^53-1, written as plain digits (which is
/// what JCS's ECMAScript number form gives for them; <c>1.0</c> and <c>1e2</c> become <c>1</c>
/// and <c>100</c>). Any other number is refused rather than risk a hash that another JCS
/// implementation would compute differently; audit events never carry one.
/// </remarks>
public static class JsonCanonicalizer
{
    /// <summary>The canonical UTF-8 bytes of <paramref name="json"/>.</summary>
    /// <exception cref="FormatException">Not JSON, a duplicate member name, or a number JCS cannot carry here.</exception>
    public static byte[] Canonicalize(ReadOnlySpan<byte> json)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(json.Length, 16));
        Canonicalize(json, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <inheritdoc cref="Canonicalize(ReadOnlySpan{byte})"/>
    public static string Canonicalize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return System.Text.Encoding.UTF8.GetString(Canonicalize(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>Writes the canonical form of <paramref name="json"/> to <paramref name="output"/>.</summary>
    /// <exception cref="FormatException">Not JSON, a duplicate member name, or a number JCS cannot carry here.</exception>
    public static void Canonicalize(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            throw new FormatException("Not valid JSON: " + ex.Message, ex);
        }

        using (document)
        {
            Write(document.RootElement, new CanonicalJsonWriter(output), except: null);
        }
    }

    /// <summary>
    /// Writes the canonical form of <paramref name="element"/>; when it is an object, the member named
    /// <paramref name="except"/> (at the top level only) is left out, as the hash rule needs.
    /// </summary>
    /// <exception cref="FormatException">A duplicate member name, an invalid string, or a number JCS cannot carry here.</exception>
    public static void Canonicalize(JsonElement element, IBufferWriter<byte> output, string? except = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        Write(element, new CanonicalJsonWriter(output), except);
    }

    private static void Write(JsonElement element, CanonicalJsonWriter writer, string? except)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(element, writer, except);
                break;
            case JsonValueKind.Array:
                writer.StartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(item, writer, except: null);
                }

                writer.EndArray();
                break;
            case JsonValueKind.String:
                writer.String(ReadString(element));
                break;
            case JsonValueKind.Number:
                writer.Integer(ReadInteger(element));
                break;
            case JsonValueKind.True:
                writer.Boolean(true);
                break;
            case JsonValueKind.False:
                writer.Boolean(false);
                break;
            case JsonValueKind.Null:
                writer.Null();
                break;
            default:
                throw new FormatException($"Unexpected JSON value kind {element.ValueKind}.");
        }
    }

    private static void WriteObject(JsonElement element, CanonicalJsonWriter writer, string? except)
    {
        var members = new List<(string Name, JsonElement Value)>();
        var excepted = false;
        foreach (var property in element.EnumerateObject())
        {
            if (except is not null && property.NameEquals(except))
            {
                if (excepted)
                {
                    throw new FormatException($"Duplicate member name \"{except}\".");
                }

                excepted = true;
                continue;
            }

            members.Add((property.Name, property.Value));
        }

        // Ordinal comparison of .NET strings compares UTF-16 code units, exactly RFC 8785's order.
        members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        writer.StartObject();
        for (var i = 0; i < members.Count; i++)
        {
            if (i > 0 && string.Equals(members[i - 1].Name, members[i].Name, StringComparison.Ordinal))
            {
                // JCS works on I-JSON, which has no duplicate names; which value would a reader keep?
                throw new FormatException($"Duplicate member name \"{members[i].Name}\".");
            }

            writer.Name(members[i].Name);
            Write(members[i].Value, writer, except: null);
        }

        writer.EndObject();
    }

    private static string ReadString(JsonElement element)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            // An escaped lone surrogate: not Unicode text, so it has no canonical form.
            throw new FormatException("A string is not valid Unicode: " + ex.Message, ex);
        }
    }

    private static long ReadInteger(JsonElement element)
    {
        if (element.TryGetInt64(out var integer) && integer is >= -CanonicalJsonWriter.MaxSafeInteger and <= CanonicalJsonWriter.MaxSafeInteger)
        {
            return integer;
        }

        // 1.0 or 1e2 are integers too, only spelled another way; JCS writes them as 1 and 100.
        if (element.TryGetDouble(out var number)
            && Math.Abs(number) <= CanonicalJsonWriter.MaxSafeInteger
            && number == Math.Floor(number))
        {
            return (long)number;
        }

        throw new FormatException($"The number {element.GetRawText()} is not an integer of magnitude up to 2^53-1; canonical audit JSON carries no other.");
    }
}
