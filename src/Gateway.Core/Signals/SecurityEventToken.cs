using System.Buffers.Text;
using System.Text.Json;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Signals;

/// <summary>One event of a verified SET: its type URI and its payload (a detached copy).</summary>
public sealed record SecurityEvent(string Type, JsonElement Payload);

/// <summary>A security event token (RFC 8417) whose signature, issuer, audience and age were checked; not yet checked for replay.</summary>
public sealed record SecurityEventToken(string Issuer, string Jti, DateTimeOffset IssuedAt, JsonElement? SubjectId, IReadOnlyList<SecurityEvent> Events);

/// <summary>Why a SET was refused: RFC 8935 section 2.3's <c>err</c> code and a sentence for <c>description</c>.</summary>
public sealed record SetRefusal(string Err, string Description, bool Retry = false);

/// <summary>
/// Verifies a SET as RFC 8417 and RFC 8935 ask: a compact JWS with <c>typ</c> <c>secevent+jwt</c>, from a configured
/// transmitter, signed with one of that issuer's keys in one of its algorithms, for the configured audience, with
/// <c>iat</c> inside <c>signals.max_age</c> and a <c>jti</c>. The header is judged by the token validator's own
/// rules (no <c>none</c>, no HMAC, no <c>jku</c>/<c>jwk</c>, no <c>crit</c>).
/// </summary>
public static class SecurityEventTokenVerifier
{
    /// <summary>A SET is a few hundred bytes; the same ceiling as for capability tokens.</summary>
    public const int MaxLength = CapabilityTokenValidator.MaxTokenLength;

    private const int MaxEvents = 16;
    private static readonly JsonDocumentOptions JsonOptions = new() { AllowDuplicateProperties = false, MaxDepth = 32 };

    public static async ValueTask<(SecurityEventToken? Set, SetRefusal? Refusal)> VerifyAsync(string compact, PolicySnapshot snapshot, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var signals = snapshot.Policy.Signals;
        if (signals is null || snapshot.Keys is null)
        {
            return Refuse("access_denied", "This gateway has no 'signals' section in its policy, so it accepts no security events.");
        }

        if (compact.Length is 0 or > MaxLength)
        {
            return Refuse("invalid_request", $"The body must be one SET (a compact JWS of at most {MaxLength} characters).");
        }

        var parts = compact.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || !Base64Url.IsValid(p.AsSpan())))
        {
            return Refuse("invalid_request", "The body is not a compact JWS (three base64url parts).");
        }

        JsonDocument header, payload;
        try
        {
            header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]), JsonOptions);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return Refuse("invalid_request", "The SET's header is not a JSON object.");
        }

        using (header)
        {
            try
            {
                payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]), JsonOptions);
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                return Refuse("invalid_request", "The SET's payload is not a JSON object.");
            }

            using (payload)
            {
                return await VerifyAsync(compact, header.RootElement, payload.RootElement, snapshot, signals, now, cancellationToken);
            }
        }
    }

    private static async ValueTask<(SecurityEventToken?, SetRefusal?)> VerifyAsync(string compact, JsonElement header, JsonElement payload, PolicySnapshot snapshot, SignalSettings signals, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var headerFailure = JoseHeader.TryRead(header, out var jose);
        if (headerFailure is not null)
        {
            return Refuse("invalid_request", "The SET's header is refused: " + headerFailure.Description);
        }

        // RFC 8417 section 2.3: the explicit type keeps a SET from being taken for an access or ID token, and back.
        if (!string.Equals(JoseHeader.NormalizeType(jose!.Type), "secevent+jwt", StringComparison.OrdinalIgnoreCase))
        {
            return Refuse("invalid_request", "The SET's 'typ' must be 'secevent+jwt'.");
        }

        if (payload.ValueKind != JsonValueKind.Object)
        {
            return Refuse("invalid_request", "The SET's payload is not a JSON object.");
        }

        var issuer = String(payload, "iss");
        var transmitter = signals.Transmitters.FirstOrDefault(t => string.Equals(t.Issuer, issuer, StringComparison.Ordinal));
        var settings = snapshot.Policy.Issuers.FirstOrDefault(i => string.Equals(i.Issuer, issuer, StringComparison.Ordinal));
        if (issuer is null || transmitter is null || settings is null)
        {
            return Refuse("invalid_issuer", "The SET's 'iss' is not a transmitter listed under signals.transmitters.");
        }

        if (!JwsAlgorithms.AllowListOf(settings.Algorithms).Contains(jose.Algorithm))
        {
            return Refuse("invalid_key", $"The algorithm '{jose.Algorithm}' is not one the issuer's 'algorithms' allow.");
        }

        var lookup = await snapshot.Keys!.FindKeyAsync(issuer, jose.KeyId, cancellationToken).ConfigureAwait(false);
        if (lookup.Status == KeyLookupStatus.KeysUnavailable)
        {
            return (null, new SetRefusal("invalid_key", "The transmitter's keys could not be loaded; send the SET again later.", Retry: true));
        }

        if (lookup.Status != KeyLookupStatus.Found || lookup.Key is not { } key || !key.CanVerify(jose.Algorithm))
        {
            return Refuse("invalid_key", "The SET's 'kid' names no key of the transmitter for its algorithm.");
        }

        if (!JwsSignature.Verify(compact, jose.Algorithm, key, out _))
        {
            return Refuse("invalid_key", "The SET's signature does not verify with the transmitter's key.");
        }

        if (!HasAudience(payload, transmitter.Audience))
        {
            return Refuse("invalid_audience", "The SET's 'aud' is not this receiver's audience.");
        }

        if (!payload.TryGetProperty("iat", out var iatElement) || !iatElement.TryGetInt64(out var iatSeconds) || iatSeconds is < 0 or > 253402300799)
        {
            return Refuse("invalid_request", "The SET needs 'iat', a NumericDate.");
        }

        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(iatSeconds);
        var skew = snapshot.Policy.Gateway.ClockSkew;
        if (issuedAt > now + skew)
        {
            return Refuse("invalid_request", "The SET's 'iat' is in the future.");
        }

        if (issuedAt < now - signals.MaxAge - skew)
        {
            return Refuse("invalid_request", $"The SET is older than signals.max_age ({PolicyDuration.Format(signals.MaxAge)}); replays are refused by age as well as by 'jti'.");
        }

        var jti = String(payload, "jti");
        if (jti is not { Length: > 0 and <= CapabilityTokenReader.MaxIdentifierLength })
        {
            return Refuse("invalid_request", "The SET needs 'jti', a non-empty string.");
        }

        if (!payload.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Object)
        {
            return Refuse("invalid_request", "The SET needs 'events', an object of event type URIs.");
        }

        var list = new List<SecurityEvent>();
        foreach (var member in events.EnumerateObject())
        {
            if (member.Value.ValueKind != JsonValueKind.Object || list.Count == MaxEvents)
            {
                return Refuse("invalid_request", $"Each member of 'events' must be an object, and there may be at most {MaxEvents}.");
            }

            list.Add(new SecurityEvent(member.Name, member.Value.Clone()));
        }

        if (list.Count == 0)
        {
            return Refuse("invalid_request", "The SET's 'events' is empty.");
        }

        JsonElement? subject = payload.TryGetProperty("sub_id", out var subId) ? subId.Clone() : null;
        return (new SecurityEventToken(issuer, jti, issuedAt, subject, list), null);
    }

    private static bool HasAudience(JsonElement payload, string audience)
    {
        if (!payload.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        return aud.ValueKind switch
        {
            JsonValueKind.String => aud.ValueEquals(audience),
            JsonValueKind.Array => aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.ValueEquals(audience)),
            _ => false,
        };
    }

    private static string? String(JsonElement payload, string name) =>
        payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static (SecurityEventToken?, SetRefusal?) Refuse(string err, string description) => (null, new SetRefusal(err, description));
}
