using System.Buffers.Text;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.StatusLists;

/// <summary>A verified status list token: its list, and how long it may be used.</summary>
public sealed record StatusListToken(string Subject, DateTimeOffset IssuedAt, DateTimeOffset? Expires, TimeSpan? Ttl, StatusList List);

/// <summary>
/// Verifies a status list token (draft-ietf-oauth-status-list sections 5.1 and 8.3): a compact JWS typed
/// <c>statuslist+jwt</c>, signed with a key of the referenced token's own issuer in one of that issuer's algorithms
/// (the header judged by the token validator's rules, the signature by <see cref="JwsSignature"/>), whose <c>sub</c>
/// is exactly the token's <c>uri</c>, with <c>iat</c>, an unexpired <c>exp</c> when present, a positive <c>ttl</c>
/// when present, and a <c>status_list</c> of <c>bits</c> and <c>lst</c>.
/// </summary>
public static class StatusListTokenVerifier
{
    public const string MediaType = "application/statuslist+jwt";

    private static readonly JsonDocumentOptions JsonOptions = new() { AllowDuplicateProperties = false, MaxDepth = 16 };

    /// <summary>The verified token, or a phrase saying why the list is unusable (it follows "The status list is unusable: ").</summary>
    public static async ValueTask<(StatusListToken? Token, string? Problem)> VerifyAsync(
        string compact,
        StatusListReference reference,
        IssuerSettings issuer,
        ISigningKeyResolver keys,
        DateTimeOffset now,
        TimeSpan clockSkew,
        int maxBytes,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(compact);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(keys);
        var parts = compact.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || !Base64Url.IsValid(p.AsSpan())))
        {
            return Unusable("it is not a compact JWS (three base64url parts)");
        }

        JsonDocument header, payload;
        try
        {
            var headerBytes = Base64Url.DecodeFromChars(parts[0]);
            var payloadBytes = Base64Url.DecodeFromChars(parts[1]);
            if (!Utf8.IsValid(headerBytes) || !Utf8.IsValid(payloadBytes))
            {
                return Unusable("its header or payload is not UTF-8 JSON");
            }

            header = JsonDocument.Parse(headerBytes, JsonOptions);
            try
            {
                payload = JsonDocument.Parse(payloadBytes, JsonOptions);
            }
            catch
            {
                header.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return Unusable("its header or payload is not JSON (duplicate member names are refused too)");
        }

        using (header)
        using (payload)
        {
            var failure = JoseHeader.TryRead(header.RootElement, out var jose);
            if (failure is not null)
            {
                return Unusable("its header is refused: " + failure.Description);
            }

            // Section 5.1: the explicit type keeps a status list from being taken for an access token, and back.
            if (!string.Equals(JoseHeader.NormalizeType(jose!.Type), "statuslist+jwt", StringComparison.OrdinalIgnoreCase))
            {
                return Unusable("its 'typ' is not 'statuslist+jwt'");
            }

            if (!JwsAlgorithms.AllowListOf(issuer.Algorithms).Contains(jose.Algorithm))
            {
                return Unusable($"its 'alg' is not one the issuer's 'algorithms' allow");
            }

            var lookup = await keys.FindKeyAsync(issuer.Issuer, jose.KeyId, cancellationToken).ConfigureAwait(false);
            if (lookup.Status == KeyLookupStatus.KeysUnavailable)
            {
                return Unusable("the issuer's keys could not be loaded");
            }

            if (lookup.Status != KeyLookupStatus.Found || lookup.Key is not { } key || !key.CanVerify(jose.Algorithm))
            {
                return Unusable("its 'kid' names no key of the token's issuer for its algorithm");
            }

            if (!JwsSignature.Verify(compact, jose.Algorithm, key, out _))
            {
                return Unusable("its signature does not verify with the token issuer's key");
            }

            return Read(payload.RootElement, reference, issuer, now, clockSkew, maxBytes);
        }
    }

    private static (StatusListToken?, string?) Read(JsonElement payload, StatusListReference reference, IssuerSettings issuer, DateTimeOffset now, TimeSpan skew, int maxBytes)
    {
        if (payload.ValueKind != JsonValueKind.Object)
        {
            return Unusable("its payload is not a JSON object");
        }

        // Section 8.3 step 3: the list must be the one the token points at, or a list served at another URL
        // (another tenant's, say) could stand in for it.
        if (!payload.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || !sub.ValueEquals(reference.Uri))
        {
            return Unusable("its 'sub' is not the token's status list 'uri'");
        }

        if (payload.TryGetProperty("iss", out var iss) && !(iss.ValueKind == JsonValueKind.String && iss.ValueEquals(issuer.Issuer)))
        {
            return Unusable("its 'iss' is not the token's issuer");
        }

        if (!TryDate(payload, "iat", out var issuedAt) || issuedAt is null)
        {
            return Unusable("it needs 'iat', a NumericDate");
        }

        if (issuedAt > now + skew)
        {
            return Unusable("its 'iat' is in the future");
        }

        if (!TryDate(payload, "exp", out var expires))
        {
            return Unusable("its 'exp' is not a NumericDate");
        }

        if (expires is { } exp && now >= exp + skew)
        {
            return Unusable("it has expired ('exp')");
        }

        TimeSpan? ttl = null;
        if (payload.TryGetProperty("ttl", out var ttlElement))
        {
            if (ttlElement.ValueKind != JsonValueKind.Number || !ttlElement.TryGetDouble(out var seconds) || seconds <= 0 || double.IsInfinity(seconds))
            {
                return Unusable("its 'ttl' is not a positive number of seconds");
            }

            ttl = seconds >= TimeSpan.MaxValue.TotalSeconds ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds);
        }

        if (!payload.TryGetProperty("status_list", out var list) || list.ValueKind != JsonValueKind.Object
            || !list.TryGetProperty("bits", out var bitsElement) || !bitsElement.TryGetInt32(out var bits)
            || !list.TryGetProperty("lst", out var lst) || lst.ValueKind != JsonValueKind.String)
        {
            return Unusable("it needs 'status_list', an object with 'bits' and 'lst'");
        }

        var decoded = StatusList.TryDecode(bits, lst.GetString()!, maxBytes, out var problem);
        if (decoded is null)
        {
            return Unusable(problem!);
        }

        return (new StatusListToken(reference.Uri, issuedAt.Value, expires, ttl, decoded), null);
    }

    private static bool TryDate(JsonElement payload, string name, out DateTimeOffset? value)
    {
        value = null;
        if (!payload.TryGetProperty(name, out var element))
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var seconds) || seconds is < 0 or > 253402300799)
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeSeconds((long)Math.Floor(seconds));
        return true;
    }

    private static (StatusListToken?, string?) Unusable(string problem) => (null, problem);
}
