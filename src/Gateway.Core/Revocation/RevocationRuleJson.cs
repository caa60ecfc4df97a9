using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Gateway.Revocation;

/// <summary>
/// The one JSON form of a rule, used in the store, in announcements and by <c>GET /revocations</c>: the body
/// <c>POST /revocations</c> takes, plus <c>id</c>, <c>created_at</c> and <c>expires_at</c>:
/// <c>{"id":"rev_…","agent":"agent:planner","issued_before":"…","reason":"…","created_at":"…","expires_at":"…"}</c>.
/// Times are RFC 3339 in UTC with up to 7 fractional digits (the lag is measured from <c>created_at</c>).
/// </summary>
public static class RevocationRuleJson
{
    private const string IdMember = "id";
    private const string IssuedBeforeMember = "issued_before";
    private const string ReasonMember = "reason";
    private const string CreatedAtMember = "created_at";
    private const string ExpiresAtMember = "expires_at";

    private static readonly JsonDocumentOptions ReadOptions = new() { AllowDuplicateProperties = false, MaxDepth = 4 };

    public static void Write(Utf8JsonWriter writer, RevocationRule rule)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(rule);
        writer.WriteStartObject();
        writer.WriteString(IdMember, rule.Id);
        writer.WriteString(RevocationKinds.ToName(rule.Kind), rule.Value);
        if (rule.IssuedBefore is { } cutOff)
        {
            writer.WriteString(IssuedBeforeMember, cutOff.UtcDateTime);
        }

        writer.WriteString(ReasonMember, rule.Reason);
        writer.WriteString(CreatedAtMember, rule.CreatedAt.UtcDateTime);
        writer.WriteString(ExpiresAtMember, rule.ExpiresAt.UtcDateTime);
        writer.WriteEndObject();
    }

    public static byte[] ToUtf8Bytes(RevocationRule rule)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, rule);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads a rule written by <see cref="Write"/>. False for anything else: what comes from the store or a
    /// channel is still input, and one bad entry must cost that entry, not the whole list.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out RevocationRule? rule)
    {
        rule = null;
        try
        {
            using var document = JsonDocument.Parse(utf8Json.ToArray(), ReadOptions);
            return TryRead(document.RootElement, out rule);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static bool TryRead(JsonElement element, [NotNullWhen(true)] out RevocationRule? rule)
    {
        rule = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        string? id = null, value = null, reason = null;
        RevocationKind? kind = null;
        DateTimeOffset? issuedBefore = null, createdAt = null, expiresAt = null;
        foreach (var member in element.EnumerateObject())
        {
            if (RevocationKinds.TryParse(member.Name, out var named))
            {
                if (kind is not null || !TryString(member.Value, out value))
                {
                    return false;
                }

                kind = named;
                continue;
            }

            var ok = member.Name switch
            {
                IdMember => TryString(member.Value, out id),
                ReasonMember => TryString(member.Value, out reason),
                IssuedBeforeMember => TryTime(member.Value, out issuedBefore),
                CreatedAtMember => TryTime(member.Value, out createdAt),
                ExpiresAtMember => TryTime(member.Value, out expiresAt),

                // Unknown members are skipped, so a newer replica may add one without breaking older ones.
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }

        if (kind is null || !RevocationRule.IsValidId(id) || string.IsNullOrEmpty(value) || reason is null || createdAt is null || expiresAt is null)
        {
            return false;
        }

        rule = new RevocationRule
        {
            Id = id!,
            Kind = kind.Value,
            Value = value,
            IssuedBefore = issuedBefore,
            Reason = reason,
            CreatedAt = createdAt.Value,
            ExpiresAt = expiresAt.Value,
        };
        return true;
    }

    private static bool TryString(JsonElement element, out string? text)
    {
        text = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        return text is not null;
    }

    private static bool TryTime(JsonElement element, out DateTimeOffset? time)
    {
        time = null;
        if (element.ValueKind != JsonValueKind.String || !RevocationRequest.TryParseRfc3339(element.GetString(), out var parsed))
        {
            return false;
        }

        time = parsed;
        return true;
    }
}
