using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using Gateway.Audit;

namespace Gateway.Reporting;

/// <summary>Reads the members a report needs from one canonical audit line with a forward-only JSON reader.</summary>
internal static class ReportEventReader
{
    /// <summary>False when the line is not an audit event (not JSON, no decision, no time).</summary>
    public static bool TryRead(ReadOnlyMemory<byte> line, ReportEvent into)
    {
        into.Clear();
        try
        {
            var reader = new Utf8JsonReader(line.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var haveDecision = false;
            var haveTime = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("decision"u8))
                {
                    reader.Read();
                    haveDecision = ReadDecision(ref reader, out into.Decision);
                }
                else if (reader.ValueTextEquals("time"u8))
                {
                    reader.Read();
                    haveTime = TryReadTime(ref reader, out into.Time);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    into.Error = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("reason"u8))
                {
                    into.Reason = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("route"u8))
                {
                    into.Route = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("action"u8))
                {
                    into.Action = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("resource"u8))
                {
                    into.Resource = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("trace_id"u8))
                {
                    into.TraceId = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("risk"u8))
                {
                    reader.Read();
                    into.Risk = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var risk) ? risk : 0;
                }
                else if (reader.ValueTextEquals("token"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadToken(ref reader, line, into);
                    }
                }
                else if (reader.ValueTextEquals("admin"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadAdmin(ref reader, into);
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return haveDecision && haveTime;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void ReadToken(ref Utf8JsonReader reader, ReadOnlyMemory<byte> line, ReportEvent into)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("sub"u8))
            {
                into.Subject = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("agent"u8))
            {
                into.Agent = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("jti"u8))
            {
                into.Jti = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("grants"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                into.GrantsJson = line[start..(int)reader.BytesConsumed];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadAdmin(ref Utf8JsonReader reader, ReportEvent into)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("action"u8))
            {
                into.AdminAction = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("target"u8))
            {
                into.AdminTarget = NextString(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static string? NextString(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    private static bool ReadDecision(ref Utf8JsonReader reader, out AuditDecision decision)
    {
        decision = default;
        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        if (reader.ValueTextEquals("allow"u8))
        {
            decision = AuditDecision.Allow;
        }
        else if (reader.ValueTextEquals("deny"u8))
        {
            decision = AuditDecision.Deny;
        }
        else if (reader.ValueTextEquals("shadow_deny"u8))
        {
            decision = AuditDecision.ShadowDeny;
        }
        else if (reader.ValueTextEquals("admin"u8))
        {
            decision = AuditDecision.Admin;
        }
        else
        {
            return false;
        }

        return true;
    }

    /// <summary>The writer's fixed form <c>yyyy-MM-ddTHH:mm:ss.fffZ</c> is parsed by hand; anything else goes through the general parser.</summary>
    private static bool TryReadTime(ref Utf8JsonReader reader, out DateTimeOffset time)
    {
        time = default;
        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        var span = reader.ValueSpan;
        if (span.Length == 24 && span[4] == '-' && span[10] == 'T' && span[19] == '.' && span[23] == 'Z'
            && Digits(span[..4], out var year) && Digits(span.Slice(5, 2), out var month) && Digits(span.Slice(8, 2), out var day)
            && Digits(span.Slice(11, 2), out var hour) && Digits(span.Slice(14, 2), out var minute) && Digits(span.Slice(17, 2), out var second)
            && Digits(span.Slice(20, 3), out var millisecond))
        {
            try
            {
                time = new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.Zero);
                return true;
            }
            catch (ArgumentOutOfRangeException)
            {
                return false;
            }
        }

        return DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    private static bool Digits(ReadOnlySpan<byte> span, out int value) =>
        Utf8Parser.TryParse(span, out value, out var consumed) && consumed == span.Length;
}
