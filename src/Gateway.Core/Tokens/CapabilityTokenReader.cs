using System.Buffers.Text;
using System.Text.Json;
using Gateway.Policy;

namespace Gateway.Tokens;

/// <summary>
/// Checks the claims of a signature-verified payload and builds the <see cref="CapabilityToken"/>.
/// Shapes are strict (a claim of the wrong JSON type is refused, not coerced) because a lenient reader is
/// where two components end up disagreeing about what a token grants.
/// </summary>
internal static class CapabilityTokenReader
{
    public const string AgentCapabilityType = "agent_capability";

    /// <summary>Deeper <c>act</c> nesting is refused while parsing; the policy's (much lower) depth limit is checked later.</summary>
    public const int MaxActorDepth = 32;

    /// <summary>Identifiers (<c>sub</c>, <c>jti</c>, actors...) become store keys and log fields, so they are bounded.</summary>
    public const int MaxIdentifierLength = 1024;

    // NumericDate beyond year 9999 cannot be a DateTimeOffset; such a value is an error, not "forever".
    private const long MaxNumericDate = 253402300799;

    public readonly record struct Rules(string Audience, DateTimeOffset Now, TimeSpan ClockSkew, TimeSpan MaxLifetime);

    public static TokenFailure? TryRead(JsonElement payload, string issuer, in Rules rules, out CapabilityToken? token)
    {
        token = null;

        // One claim at a time, in a fixed order, so the reason reported for a token with several faults is stable.
        if (CheckAudience(payload, rules.Audience) is { } failure
            || (failure = ReadDate(payload, "exp", required: true, out var expires)) is not null
            || (failure = ReadDate(payload, "iat", required: true, out var issuedAt)) is not null
            || (failure = ReadDate(payload, "nbf", required: false, out var notBefore)) is not null
            || (failure = CheckTimes(expires!.Value, issuedAt!.Value, notBefore, rules)) is not null
            || (failure = ReadIdentifier(payload, "sub", required: true, out var subject)) is not null
            || (failure = ReadActors(payload, out var actors)) is not null
            || (failure = ReadIdentifier(payload, "jti", required: true, out var jti)) is not null
            || (failure = ReadIdentifier(payload, "client_id", required: false, out var clientId)) is not null
            || (failure = ReadGrants(payload, out var grants)) is not null
            || (failure = ReadCap(payload, out var cap)) is not null
            || (failure = ReadIdentifier(payload, "acr", required: false, out var acr)) is not null
            || (failure = ReadDate(payload, "auth_time", required: false, out var authTime)) is not null
            || (failure = ReadConfirmation(payload, out var jkt, out var x5t)) is not null
            || (failure = ReadStatus(payload, out var status)) is not null)
        {
            return failure;
        }

        token = new CapabilityToken
        {
            Jti = jti!,
            Issuer = issuer,
            Subject = subject!,
            Agent = actors![0],
            Actors = actors,
            ClientId = clientId,
            IssuedAt = issuedAt!.Value,
            Expires = expires!.Value,
            NotBefore = notBefore,
            Grants = grants!,
            MaxSteps = cap.MaxSteps,
            Intent = cap.Intent,
            IntentEvidence = cap.Evidence,
            Chain = cap.Chain ?? [],
            Acr = acr,
            AuthTime = authTime,
            ConfirmationJkt = jkt,
            ConfirmationX5tS256 = x5t,
            StatusList = status,
        };
        return null;
    }

    /// <summary>A base64url SHA-256 thumbprint: 43 characters that decode to 32 bytes (RFC 7638, RFC 8705).</summary>
    public static bool IsThumbprint(string value) =>
        value.Length == 43 && Jwk.IsBase64Url(value) && Base64Url.GetMaxDecodedLength(value.Length) == 32;

    private static TokenFailure? CheckAudience(JsonElement payload, string audience)
    {
        if (!payload.TryGetProperty("aud", out var aud))
        {
            return TokenFailures.MissingClaim("aud");
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.ValueEquals(audience) ? null : TokenFailures.WrongAudience;
        }

        if (aud.ValueKind != JsonValueKind.Array)
        {
            return TokenFailures.Invalid("aud", "is neither a string nor an array of strings");
        }

        var found = false;
        foreach (var item in aud.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return TokenFailures.Invalid("aud", "is neither a string nor an array of strings");
            }

            found |= item.ValueEquals(audience);
        }

        return found ? null : TokenFailures.WrongAudience;
    }

    private static TokenFailure? CheckTimes(DateTimeOffset expires, DateTimeOffset issuedAt, DateTimeOffset? notBefore, in Rules rules)
    {
        // Properties of the token itself first: a new token with the same flaw would fail the same way,
        // so "get a new token" would be the wrong advice.
        if (expires <= issuedAt)
        {
            return TokenFailures.ExpiryBeforeIssue;
        }

        if (expires - issuedAt > rules.MaxLifetime)
        {
            return TokenFailures.LifetimeTooLong;
        }

        if (issuedAt > rules.Now + rules.ClockSkew)
        {
            return TokenFailures.IssuedInFuture;
        }

        if (notBefore is { } nbf && nbf > rules.Now + rules.ClockSkew)
        {
            return TokenFailures.NotYetValid;
        }

        // Valid while now < exp (RFC 7519 section 4.1.4), widened by the skew.
        return rules.Now >= expires + rules.ClockSkew ? TokenFailures.Expired : null;
    }

    private static TokenFailure? ReadDate(JsonElement payload, string name, bool required, out DateTimeOffset? value)
    {
        value = null;
        if (!payload.TryGetProperty(name, out var element))
        {
            return required ? TokenFailures.MissingClaim(name) : null;
        }

        // NumericDate may have a fraction (RFC 7519 section 2); whole seconds are what anyone compares.
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var seconds) || seconds < 0 || seconds > MaxNumericDate)
        {
            return TokenFailures.Invalid(name, "is not a NumericDate (seconds since 1970 as a JSON number)");
        }

        value = DateTimeOffset.FromUnixTimeSeconds((long)Math.Floor(seconds));
        return null;
    }

    private static TokenFailure? ReadIdentifier(JsonElement payload, string name, bool required, out string? value) =>
        ReadIdentifier(payload, name, name, required, out value);

    private static TokenFailure? ReadIdentifier(JsonElement parent, string member, string claimName, bool required, out string? value)
    {
        value = null;
        if (!parent.TryGetProperty(member, out var element))
        {
            return required ? TokenFailures.MissingClaim(claimName) : null;
        }

        // Control characters are refused too: identifiers become log fields and header values, where a newline
        // or a NUL could forge a log line or cut a value short in a component that reads it differently.
        if (element.ValueKind != JsonValueKind.String || element.GetString() is not { Length: > 0 and <= MaxIdentifierLength } text
            || text.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || text.Contains('\u007f', StringComparison.Ordinal))
        {
            return TokenFailures.Invalid(claimName, $"is not a non-empty string of at most {MaxIdentifierLength} characters without control characters");
        }

        value = text;
        return null;
    }

    private static TokenFailure? ReadActors(JsonElement payload, out IReadOnlyList<string>? actors)
    {
        actors = null;
        if (!payload.TryGetProperty("act", out var act))
        {
            return TokenFailures.MissingClaim("act");
        }

        var list = new List<string>();
        while (true)
        {
            if (act.ValueKind != JsonValueKind.Object)
            {
                return TokenFailures.Invalid("act", "is not an object with a 'sub' (RFC 8693)");
            }

            if (list.Count == MaxActorDepth)
            {
                return TokenFailures.Invalid("act", $"is nested deeper than {MaxActorDepth} levels");
            }

            var failure = ReadIdentifier(act, "sub", "act.sub", required: true, out var actor);
            if (failure is not null)
            {
                return failure;
            }

            list.Add(actor!);
            if (!act.TryGetProperty("act", out act))
            {
                break;
            }
        }

        actors = list;
        return null;
    }

    private static TokenFailure? ReadGrants(JsonElement payload, out IReadOnlyList<CapabilityGrant>? grants)
    {
        grants = null;
        if (!payload.TryGetProperty("authorization_details", out var details))
        {
            return TokenFailures.MissingClaim("authorization_details");
        }

        if (details.ValueKind != JsonValueKind.Array)
        {
            return TokenFailures.Invalid("authorization_details", "is not an array (RFC 9396)");
        }

        var list = new List<CapabilityGrant>();
        var index = -1;
        foreach (var entry in details.EnumerateArray())
        {
            index++;
            // RFC 9396 section 2: every entry is an object with a string 'type'.
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return TokenFailures.Invalid("authorization_details", "has an entry that is not an object with a string 'type'");
            }

            if (!type.ValueEquals(AgentCapabilityType))
            {
                continue;
            }

            if (ReadPatterns<ActionPattern>(entry, "actions", ActionPattern.TryParse, "an action (service.object:verb)", out var actions) is { } failure
                || (failure = ReadPatterns<ResourcePattern>(entry, "resources", ResourcePattern.TryParse, "a resource (service:type/id)", out var resources)) is not null)
            {
                return failure;
            }

            list.Add(new CapabilityGrant { Index = index, Actions = actions!, Resources = resources! });
        }

        grants = list;
        return null;
    }

    private delegate bool TryParse<T>(string text, out T? pattern);

    private static TokenFailure? ReadPatterns<T>(JsonElement entry, string member, TryParse<T> parse, string what, out IReadOnlyList<T>? patterns)
        where T : class
    {
        patterns = null;
        if (!entry.TryGetProperty(member, out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            return TokenFailures.Invalid("authorization_details", $"has an agent_capability entry without a non-empty '{member}' array");
        }

        var list = new List<T>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !parse(item.GetString()!, out var pattern) || pattern is null)
            {
                return TokenFailures.Invalid("authorization_details", $"has an agent_capability entry whose '{member}' holds something that is not {what}");
            }

            list.Add(pattern);
        }

        patterns = list;
        return null;
    }

    private readonly record struct CapClaims(int? MaxSteps, IntentMethod Intent, string? Evidence, IReadOnlyList<string>? Chain);

    /// <summary>
    /// <c>status</c> (draft-ietf-oauth-status-list section 6.2): an object of status mechanisms, of which the gateway
    /// knows <c>status_list</c> (<c>idx</c>, a non-negative integer, and <c>uri</c>, an absolute https URL, or http on
    /// loopback); others are ignored. A malformed reference refuses the token: skipping it would skip the revocation
    /// check its issuer asked for.
    /// </summary>
    private static TokenFailure? ReadStatus(JsonElement payload, out StatusLists.StatusListReference? status)
    {
        status = null;
        if (!payload.TryGetProperty("status", out var element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return TokenFailures.Invalid("status", "is not an object");
        }

        if (!element.TryGetProperty("status_list", out var list))
        {
            return null;
        }

        if (list.ValueKind != JsonValueKind.Object
            || !list.TryGetProperty("idx", out var idx) || idx.ValueKind != JsonValueKind.Number || !idx.TryGetInt64(out var index) || index < 0
            || !list.TryGetProperty("uri", out var uri) || uri.ValueKind != JsonValueKind.String)
        {
            return TokenFailures.Invalid("status.status_list", "is not an object with 'idx' (a non-negative integer) and 'uri' (a string)");
        }

        var text = uri.GetString()!;
        if (text.Length is 0 or > StatusLists.StatusListReference.MaxUriLength
            || !Uri.TryCreate(text, UriKind.Absolute, out var location)
            || !(location.Scheme == Uri.UriSchemeHttps || (location.Scheme == Uri.UriSchemeHttp && Policy.PolicyBinder.IsLoopback(location)))
            || location.UserInfo.Length > 0 || location.Fragment.Length > 0)
        {
            return TokenFailures.Invalid("status.status_list.uri", "is not an absolute https URL (http only on loopback) without user info or fragment");
        }

        status = new StatusLists.StatusListReference(text, location, index);
        return null;
    }

    private static TokenFailure? ReadCap(JsonElement payload, out CapClaims cap)
    {
        cap = new CapClaims(null, IntentMethod.Policy, null, null);
        if (!payload.TryGetProperty("cap", out var element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return TokenFailures.Invalid("cap", "is not an object");
        }

        int? maxSteps = null;
        if (element.TryGetProperty("max_steps", out var steps))
        {
            if (steps.ValueKind != JsonValueKind.Number || !steps.TryGetInt32(out var value) || value <= 0)
            {
                return TokenFailures.Invalid("cap.max_steps", "is not a positive integer");
            }

            maxSteps = value;
        }

        var intent = IntentMethod.Policy;
        string? evidence = null;
        if (element.TryGetProperty("intent", out var intentElement))
        {
            if (intentElement.ValueKind != JsonValueKind.Object
                || !intentElement.TryGetProperty("method", out var method)
                || method.ValueKind != JsonValueKind.String
                || !IntentMethods.TryParse(method.GetString(), out intent))
            {
                return TokenFailures.Invalid("cap.intent", "is not an object whose 'method' is policy, explicit or step_up");
            }

            if (intentElement.TryGetProperty("evidence", out var evidenceElement))
            {
                if (evidenceElement.ValueKind != JsonValueKind.String || !IntentMethods.IsValidEvidence(evidenceElement.GetString()))
                {
                    return TokenFailures.Invalid("cap.intent.evidence", "is not 'sha256:' followed by 64 hex digits");
                }

                evidence = evidenceElement.GetString();
            }
        }

        IReadOnlyList<string>? chain = null;
        if (element.TryGetProperty("chain", out var chainElement))
        {
            if (chainElement.ValueKind != JsonValueKind.Array)
            {
                return TokenFailures.Invalid("cap.chain", "is not an array of token ids");
            }

            var list = new List<string>(chainElement.GetArrayLength());
            foreach (var item in chainElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 and <= MaxIdentifierLength } ancestor
                    || ancestor.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || ancestor.Contains('\u007f', StringComparison.Ordinal))
                {
                    return TokenFailures.Invalid("cap.chain", "is not an array of token ids");
                }

                list.Add(ancestor);
            }

            chain = list;
        }

        cap = new CapClaims(maxSteps, intent, evidence, chain);
        return null;
    }

    private static TokenFailure? ReadConfirmation(JsonElement payload, out string? jkt, out string? x5t)
    {
        jkt = x5t = null;
        if (!payload.TryGetProperty("cnf", out var cnf))
        {
            return null;
        }

        if (cnf.ValueKind != JsonValueKind.Object)
        {
            return TokenFailures.Invalid("cnf", "is not an object (RFC 7800)");
        }

        if (cnf.TryGetProperty("jkt", out var jktElement))
        {
            if (jktElement.ValueKind != JsonValueKind.String || !IsThumbprint(jktElement.GetString()!))
            {
                return TokenFailures.Invalid("cnf.jkt", "is not a base64url SHA-256 JWK thumbprint");
            }

            jkt = jktElement.GetString();
        }

        if (cnf.TryGetProperty("x5t#S256", out var x5tElement))
        {
            if (x5tElement.ValueKind != JsonValueKind.String || !IsThumbprint(x5tElement.GetString()!))
            {
                return TokenFailures.Invalid("cnf.x5t#S256", "is not a base64url SHA-256 certificate thumbprint");
            }

            x5t = x5tElement.GetString();
        }

        // A token bound to a key the gateway cannot check (cnf.jwk, cnf.kid...) must not become a bearer token.
        return jkt is null && x5t is null
            ? TokenFailures.Invalid("cnf", "uses a confirmation method the gateway cannot enforce (supported: jkt, x5t#S256)")
            : null;
    }
}
