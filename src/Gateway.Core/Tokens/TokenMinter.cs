using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gateway.Tokens;

/// <summary>
/// Mints signed capability tokens (header <c>typ: at+jwt</c>, <c>alg</c> and <c>kid</c> from the key): the
/// library behind <c>gateway token mint</c> and the admin delegation endpoint. The minter checks the request
/// is well formed; it does not know the gateway's policy (lifetime limit, delegation depth), which the
/// validator and the decision pipeline enforce.
/// </summary>
public sealed class TokenMinter
{
    public const string TokenType = "at+jwt";

    // The default encoder escapes '+' and other HTML-sensitive characters (typ became "at\u002Bjwt"). Equal
    // JSON, but a person decoding the header should read what RFC 9068 writes; the token is never embedded in
    // HTML, and every character JSON requires escaped still is.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly SigningKey _key;
    private readonly TimeProvider _timeProvider;

    public TokenMinter(SigningKey key, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Returns the compact JWS. Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public string Mint(MintRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Check(request);

        var issuedAt = (request.IssuedAt ?? _timeProvider.GetUtcNow()).ToUnixTimeSeconds();
        var expires = issuedAt + (long)request.Ttl.TotalSeconds;

        var header = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(header, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("alg", _key.Algorithm);
            writer.WriteString("kid", _key.KeyId);
            writer.WriteString("typ", TokenType);
            writer.WriteEndObject();
        }

        var payload = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(payload, WriterOptions))
        {
            WritePayload(writer, request, issuedAt, expires);
        }

        return JwsWriter.Sign(header.WrittenSpan, payload.WrittenSpan, _key.SecurityKey, _key.Algorithm);
    }

    /// <summary>128 random bits, base64url: unguessable and unique without coordination.</summary>
    public static string NewJti() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    private static void Check(MintRequest request)
    {
        var missing = Missing(request.Issuer, "The issuer")
            ?? Missing(request.Audience, "The audience")
            ?? Missing(request.Subject, "The subject")
            ?? Missing(request.Agent, "The agent");
        if (missing is not null)
        {
            throw new ArgumentException(missing, nameof(request));
        }

        if (request.Ttl < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("The lifetime must be at least one second.", nameof(request));
        }

        var badGrant = CheckGrant(request.Actions, request.Resources)
            ?? (request.AdditionalGrants is null ? "AdditionalGrants may be empty, not null." : null)
            ?? request.AdditionalGrants?.Select(g => g is null ? "A grant entry is null." : CheckGrant(g.Actions, g.Resources)).FirstOrDefault(p => p is not null);
        if (badGrant is not null)
        {
            throw new ArgumentException(badGrant, nameof(request));
        }

        if (request.MaxSteps is <= 0)
        {
            throw new ArgumentException("max_steps must be positive.", nameof(request));
        }

        if (request.IntentEvidence is not null && !IntentMethods.IsValidEvidence(request.IntentEvidence))
        {
            throw new ArgumentException("Intent evidence must be 'sha256:' followed by 64 hex digits.", nameof(request));
        }

        if (request.IntentEvidence is not null && request.Intent is null)
        {
            throw new ArgumentException("Intent evidence needs an intent method.", nameof(request));
        }

        if (request.ConfirmationJkt is not null && !CapabilityTokenReader.IsThumbprint(request.ConfirmationJkt))
        {
            throw new ArgumentException("cnf.jkt must be a base64url SHA-256 thumbprint (43 characters).", nameof(request));
        }

        if (request.Parent is { } parent && !string.Equals(parent.Subject, request.Subject, StringComparison.Ordinal))
        {
            // A child token acts for the same human as its parent; anything else is not delegation.
            throw new ArgumentException("A delegated token must have the same subject as its parent.", nameof(request));
        }
    }

    private static string? CheckGrant(IReadOnlyList<string>? actions, IReadOnlyList<string>? resources)
    {
        if (actions is null || actions.Count == 0 || resources is null || resources.Count == 0)
        {
            return "Every grant entry needs at least one action and one resource.";
        }

        foreach (var action in actions)
        {
            if (!ActionPattern.TryParse(action, out _))
            {
                return $"'{action}' is not an action (service.object:verb, parts may be *).";
            }
        }

        foreach (var resource in resources)
        {
            if (!ResourcePattern.TryParse(resource, out _))
            {
                return $"'{resource}' is not a resource (service:type/id, * for one segment, trailing /** for any).";
            }
        }

        return null;
    }

    private static string? Missing(string? value, string what) => string.IsNullOrWhiteSpace(value) ? what + " is required." : null;

    private static void WritePayload(Utf8JsonWriter writer, MintRequest request, long issuedAt, long expires)
    {
        writer.WriteStartObject();
        writer.WriteString("iss", request.Issuer);
        writer.WriteString("sub", request.Subject);
        writer.WriteString("aud", request.Audience);
        writer.WriteNumber("iat", issuedAt);
        writer.WriteNumber("exp", expires);
        writer.WriteString("jti", request.Jti ?? NewJti());
        if (request.ClientId is not null)
        {
            writer.WriteString("client_id", request.ClientId);
        }

        WriteActors(writer, request);

        writer.WriteStartArray("authorization_details");
        WriteGrant(writer, request.Actions, request.Resources);
        foreach (var grant in request.AdditionalGrants)
        {
            WriteGrant(writer, grant.Actions, grant.Resources);
        }

        writer.WriteEndArray();

        WriteCap(writer, request);

        if (request.Acr is not null)
        {
            writer.WriteString("acr", request.Acr);
            writer.WriteNumber("auth_time", request.AuthTime?.ToUnixTimeSeconds() ?? issuedAt);
        }
        else if (request.AuthTime is { } authTime)
        {
            writer.WriteNumber("auth_time", authTime.ToUnixTimeSeconds());
        }

        if (request.ConfirmationJkt is not null)
        {
            writer.WriteStartObject("cnf");
            writer.WriteString("jkt", request.ConfirmationJkt);
            writer.WriteEndObject();
        }

        if (request.Status is { } status)
        {
            writer.WriteStartObject("status");
            writer.WriteStartObject("status_list");
            writer.WriteNumber("idx", status.Index);
            writer.WriteString("uri", status.Uri);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteGrant(Utf8JsonWriter writer, IReadOnlyList<string> actions, IReadOnlyList<string> resources)
    {
        writer.WriteStartObject();
        writer.WriteString("type", CapabilityTokenReader.AgentCapabilityType);
        writer.WriteStartArray("actions");
        foreach (var action in actions)
        {
            writer.WriteStringValue(action);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("resources");
        foreach (var resource in resources)
        {
            writer.WriteStringValue(resource);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteActors(Utf8JsonWriter writer, MintRequest request)
    {
        // act nests outward-in: {"sub": agent, "act": {"sub": parent's agent, "act": {...}}}.
        var actors = new List<string> { request.Agent };
        if (request.Parent is { } parent)
        {
            actors.AddRange(parent.Actors);
        }

        foreach (var actor in actors)
        {
            writer.WriteStartObject("act");
            writer.WriteString("sub", actor);
        }

        for (var i = 0; i < actors.Count; i++)
        {
            writer.WriteEndObject();
        }
    }

    private static void WriteCap(Utf8JsonWriter writer, MintRequest request)
    {
        var hasChain = request.Parent is not null;
        if (request.MaxSteps is null && request.Intent is null && !hasChain)
        {
            return;
        }

        writer.WriteStartObject("cap");
        if (request.MaxSteps is { } maxSteps)
        {
            writer.WriteNumber("max_steps", maxSteps);
        }

        if (request.Intent is { } intent)
        {
            writer.WriteStartObject("intent");
            writer.WriteString("method", IntentMethods.ToClaimValue(intent));
            if (request.IntentEvidence is not null)
            {
                writer.WriteString("evidence", request.IntentEvidence);
            }

            writer.WriteEndObject();
        }

        if (request.Parent is { } parent)
        {
            writer.WriteStartArray("chain");
            writer.WriteStringValue(parent.Jti);
            foreach (var ancestor in parent.Chain)
            {
                writer.WriteStringValue(ancestor);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }
}
