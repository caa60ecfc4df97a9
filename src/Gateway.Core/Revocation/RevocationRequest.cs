using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Policy;

namespace Gateway.Revocation;

/// <summary>
/// What an analyst asks for with <c>POST /revocations</c>, before it is checked and becomes a
/// <see cref="RevocationRule"/> (<see cref="RevocationRule.TryCreate"/>).
/// </summary>
public sealed partial record RevocationRequest
{
    public required RevocationKind Kind { get; init; }

    /// <summary>The <c>jti</c>, agent, <c>sub</c> or <c>client_id</c> to cut off, compared exactly.</summary>
    public required string Value { get; init; }

    /// <summary>Only tokens whose <c>iat</c> is earlier than this; null for every token of <see cref="Value"/>.</summary>
    public DateTimeOffset? IssuedBefore { get; init; }

    /// <summary>Why: shown by <c>GET /revocations</c> and kept in the audit trail.</summary>
    public required string Reason { get; init; }

    private const string IssuedBeforeMember = "issued_before";
    private const string ReasonMember = "reason";

    /// <summary>
    /// Reads the contract's body, <c>{"jti"|"agent"|"sub"|"client_id": "...", "issued_before": RFC3339?, "reason": "..."}</c>.
    /// Strict: exactly one kind, no unknown members (a misspelt <c>isued_before</c> silently ignored would
    /// revoke far more than meant). Values are only shaped here; <see cref="RevocationRule.TryCreate"/> judges them.
    /// </summary>
    public static bool TryParse(JsonElement body, [NotNullWhen(true)] out RevocationRequest? request, [NotNullWhen(false)] out string? problem)
    {
        request = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            problem = "The body must be a JSON object such as {\"agent\": \"agent:planner\", \"reason\": \"...\"}.";
            return false;
        }

        RevocationKind? kind = null;
        string? value = null;
        string? reason = null;
        DateTimeOffset? issuedBefore = null;
        foreach (var member in body.EnumerateObject())
        {
            if (RevocationKinds.TryParse(member.Name, out var named))
            {
                if (kind is not null)
                {
                    problem = $"Name exactly one of {string.Join(", ", RevocationKinds.All)}; the body names both '{RevocationKinds.ToName(kind.Value)}' and '{member.Name}'.";
                    return false;
                }

                if (member.Value.ValueKind != JsonValueKind.String)
                {
                    problem = $"'{member.Name}' must be a string.";
                    return false;
                }

                kind = named;
                value = member.Value.GetString();
            }
            else if (member.NameEquals(ReasonMember))
            {
                if (member.Value.ValueKind != JsonValueKind.String)
                {
                    problem = "'reason' must be a string.";
                    return false;
                }

                reason = member.Value.GetString();
            }
            else if (member.NameEquals(IssuedBeforeMember))
            {
                if (member.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (member.Value.ValueKind != JsonValueKind.String || !TryParseRfc3339(member.Value.GetString(), out var parsed))
                {
                    problem = "'issued_before' must be an RFC 3339 date-time with an offset, such as 2025-06-01T12:00:00Z.";
                    return false;
                }

                issuedBefore = parsed;
            }
            else
            {
                string[] known = [.. RevocationKinds.All, IssuedBeforeMember, ReasonMember];
                problem = $"Unknown member '{member.Name}'{DidYouMean.Hint(member.Name, known)}; expected one of {string.Join(", ", RevocationKinds.All)}, then issued_before and reason.";
                return false;
            }
        }

        if (kind is null)
        {
            problem = $"Name what to revoke with exactly one of {string.Join(", ", RevocationKinds.All)}.";
            return false;
        }

        if (reason is null)
        {
            problem = "'reason' is required: say why, for whoever reads GET /revocations or the audit trail later.";
            return false;
        }

        request = new RevocationRequest { Kind = kind.Value, Value = value ?? "", IssuedBefore = issuedBefore, Reason = reason };
        problem = null;
        return true;
    }

    /// <summary>RFC 3339 <c>date-time</c>: a date, <c>T</c>, a time and a mandatory offset (a time without one means nothing exact).</summary>
    public static bool TryParseRfc3339(string? text, out DateTimeOffset value)
    {
        value = default;
        return text is not null
            && Rfc3339().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Rfc3339();
}
