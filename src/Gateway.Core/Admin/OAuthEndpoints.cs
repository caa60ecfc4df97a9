using System.Buffers.Text;
using System.Text.Json;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Gateway.Admin;

/// <summary>
/// <c>POST /oauth/revoke</c> (RFC 7009) and <c>POST /oauth/introspect</c> (RFC 7662) on the admin listener, so an
/// identity provider's tooling or a SOC playbook can speak OAuth to the gateway. Both take the admin key like the
/// rest of the admin API, read <c>application/x-www-form-urlencoded</c> bodies, and answer errors in RFC 6749's
/// <c>{"error", "error_description"}</c> form, which is what OAuth clients parse.
/// </summary>
internal static class OAuthEndpoints
{
    // A token is at most CapabilityTokenValidator.MaxTokenLength characters; a form far larger is not one of ours.
    private static readonly FormOptions Limits = new()
    {
        ValueCountLimit = 8,
        KeyLengthLimit = 64,
        ValueLengthLimit = CapabilityTokenValidator.MaxTokenLength,
        MultipartBodyLengthLimit = 0,
        BufferBody = false,
    };

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapPost("/oauth/revoke", RevokeAsync);
        admin.MapPost("/oauth/introspect", IntrospectAsync);
    }

    private static async Task<IResult> RevokeAsync(HttpContext context, IRevocationStore store, RevocationIndex index, PolicyMonitor policies, TimeProvider time, AdminEvents events, CancellationToken cancellationToken)
    {
        var (token, problem) = await ReadTokenAsync(context.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        // RFC 7009 section 2.2: an invalid, expired or unknown token is answered 200 all the same, so the answer
        // tells a caller nothing about which tokens exist. An expired one needs no rule: it is refused anyway.
        var validated = await policies.Current.Tokens.ValidateAsync(token!, cancellationToken);
        if (!validated.IsValid)
        {
            return Revoked();
        }

        var request = new RevocationRequest
        {
            Kind = RevocationKind.Jti,
            Value = validated.Token.Jti,
            Reason = "RFC 7009 revocation request",
        };
        if (!RevocationRule.TryCreate(request, policies.Current.Policy.Gateway, time.GetUtcNow(), out var rule, out var invalid))
        {
            return Error(StatusCodes.Status400BadRequest, "invalid_request", invalid);
        }

        try
        {
            await RevocationEndpoints.ApplyAsync(context, rule, store, index, time, events, cancellationToken);
        }
        catch (RevocationStoreUnavailableException)
        {
            // RFC 7009 section 2.2.1: 503 and the client retries after a while.
            context.Response.Headers.RetryAfter = "1";
            return Error(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "The revocation store cannot be reached; the token is not revoked yet. Retry.");
        }

        return Revoked();
    }

    private static async Task<IResult> IntrospectAsync(HttpContext context, RevocationIndex index, PolicyMonitor policies, StatusLists.StatusListCache statusLists, CancellationToken cancellationToken)
    {
        var (token, problem) = await ReadTokenAsync(context.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        context.Response.Headers.CacheControl = "no-store";
        var snapshot = policies.Current;
        var validated = await snapshot.Tokens.ValidateAsync(token!, cancellationToken);

        // A token whose status list cannot be had is not known to be active, so it is not reported as such.
        if (!validated.IsValid || index.Match(validated.Token) is not null
            || (validated.Token!.StatusList is not null && (await statusLists.CheckAsync(validated.Token, snapshot, cancellationToken)).Outcome != StatusLists.StatusOutcome.Valid))
        {
            // RFC 7662 section 2.2: an inactive token gets "active": false and nothing else, whatever the reason.
            return Results.Bytes("""{"active":false}"""u8.ToArray(), "application/json");
        }

        return Results.Bytes(ActiveResponse(token!, validated.Token), "application/json");
    }

    /// <summary>
    /// <c>"active": true</c> and the token's own claims: they were just verified, so echoing them is exact, and the
    /// capability (<c>authorization_details</c>, <c>cap</c>, <c>act</c>, <c>cnf</c>) arrives as the issuer wrote it.
    /// </summary>
    private static byte[] ActiveResponse(string token, CapabilityToken validated)
    {
        var start = token.IndexOf('.', StringComparison.Ordinal) + 1;
        var end = token.IndexOf('.', start);
        var payload = Base64Url.DecodeFromChars(token.AsSpan(start, end - start));
        using var claims = JsonDocument.Parse(payload);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("active", true);
            foreach (var claim in claims.RootElement.EnumerateObject())
            {
                if (!claim.NameEquals("active"))
                {
                    claim.WriteTo(json);
                }
            }

            if (!claims.RootElement.TryGetProperty("token_type", out _))
            {
                // RFC 9449 section 9 names the type a DPoP-bound token is introspected as.
                json.WriteString("token_type", validated.ConfirmationJkt is null ? "Bearer" : "DPoP");
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static async Task<(string? Token, IResult? Problem)> ReadTokenAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType || request.ContentType?.Contains("multipart", StringComparison.OrdinalIgnoreCase) == true)
        {
            return (null, Error(StatusCodes.Status400BadRequest, "invalid_request", "The body must be application/x-www-form-urlencoded with a 'token' parameter (RFC 7009 section 2.1, RFC 7662 section 2.1)."));
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(Limits, cancellationToken);
        }
        catch (InvalidDataException)
        {
            return (null, Error(StatusCodes.Status400BadRequest, "invalid_request", "The form is larger than a token request can be."));
        }

        // RFC 6749 section 3.2: a parameter sent twice makes the request invalid; which one would be meant?
        foreach (var (name, values) in form)
        {
            if (values.Count > 1)
            {
                return (null, Error(StatusCodes.Status400BadRequest, "invalid_request", $"The parameter '{name}' is sent more than once."));
            }
        }

        var token = form["token"];
        if (StringValues.IsNullOrEmpty(token))
        {
            return (null, Error(StatusCodes.Status400BadRequest, "invalid_request", "The 'token' parameter is missing."));
        }

        // token_type_hint is only a hint (RFC 7009 section 2.1): the gateway knows one kind of token and looks it up
        // the same way whatever the hint says, so an unknown hint is not an error.
        return (token.ToString(), null);
    }

    private static IResult Revoked() => Results.Text("", "text/plain", statusCode: StatusCodes.Status200OK);

    private static IResult Error(int status, string error, string description)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("error", error);
            json.WriteString("error_description", description);
            json.WriteEndObject();
        }

        return Results.Text(System.Text.Encoding.UTF8.GetString(buffer.ToArray()), "application/json", System.Text.Encoding.UTF8, status);
    }
}
