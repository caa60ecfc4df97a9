using System.Text.Json;
using Gateway.Policy;
using Gateway.Revocation;

namespace Gateway.Signals;

/// <summary>
/// What a verified SET revokes. CAEP <c>session-revoked</c>, <c>credential-change</c>, <c>token-claims-change</c> and
/// <c>assurance-level-change</c> and RISC <c>account-disabled</c> about an <c>iss_sub</c> subject whose <c>iss</c> is one
/// of the policy's issuers each become a <c>sub</c> rule with <c>issued_before</c> the event's time: tokens minted
/// before the event stop, tokens the identity provider mints afterwards (after a new login) work.
/// </summary>
public static class SignalEventMapper
{
    public const string SessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    public const string CredentialChange = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
    public const string TokenClaimsChange = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
    public const string AssuranceLevelChange = "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change";
    public const string AccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";

    private static readonly HashSet<string> Revoking = new(StringComparer.Ordinal)
    {
        SessionRevoked, CredentialChange, TokenClaimsChange, AssuranceLevelChange, AccountDisabled,
    };

    /// <summary>One event's outcome: the revocation to make, or why the event changes nothing.</summary>
    public sealed record Outcome(string EventType, RevocationRequest? Revocation, string? Ignored);

    public static IReadOnlyList<Outcome> Map(SecurityEventToken set, GatewayPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(policy);
        var outcomes = new List<Outcome>();
        foreach (var e in set.Events)
        {
            var name = ShortName(e.Type);
            if (!Revoking.Contains(e.Type))
            {
                outcomes.Add(new Outcome(name, null, "event type not acted on"));
                continue;
            }

            // SSF 1.0 names the subject at the top (sub_id); earlier CAEP drafts inside the event (subject).
            JsonElement? subject = set.SubjectId ?? (e.Payload.TryGetProperty("subject", out var inner) ? inner : null);
            if (!TryIssSub(subject, policy, out var sub, out var why))
            {
                outcomes.Add(new Outcome(name, null, why));
                continue;
            }

            // CAEP's event_timestamp says when it happened; without one (RISC), the SET's iat. Never later than now:
            // a transmitter clock ahead must not cut off tokens that are minted after the event reached us.
            var at = set.IssuedAt;
            if (e.Payload.TryGetProperty("event_timestamp", out var ts) && ts.TryGetInt64(out var seconds) && seconds is >= 0 and <= 253402300799)
            {
                at = DateTimeOffset.FromUnixTimeSeconds(seconds);
            }

            if (at > now)
            {
                at = now;
            }

            outcomes.Add(new Outcome(name, new RevocationRequest
            {
                Kind = RevocationKind.Subject,
                Value = sub,
                IssuedBefore = at,
                Reason = $"SSF {name} from {set.Issuer} (SET {Truncate(set.Jti)})",
            }, null));
        }

        return outcomes;
    }

    private static bool TryIssSub(JsonElement? subject, GatewayPolicy policy, out string sub, out string why)
    {
        sub = "";
        why = "";
        if (subject is not { ValueKind: JsonValueKind.Object } s
            || !s.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String)
        {
            why = "no subject identifier";
            return false;
        }

        if (!format.ValueEquals("iss_sub"))
        {
            why = "subject format not supported (only iss_sub)";
            return false;
        }

        if (!s.TryGetProperty("iss", out var iss) || iss.ValueKind != JsonValueKind.String
            || !policy.Issuers.Any(i => iss.ValueEquals(i.Issuer))
            || !s.TryGetProperty("sub", out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
        {
            why = "iss_sub subject of an issuer this gateway does not trust, or without sub";
            return false;
        }

        sub = text;
        return true;
    }

    private static string ShortName(string type) => type.LastIndexOf('/') is var slash and >= 0 && slash < type.Length - 1 ? type[(slash + 1)..] : type;

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64];
}
