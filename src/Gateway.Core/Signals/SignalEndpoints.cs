using System.Text;
using System.Text.Json;
using Gateway.Admin;
using Gateway.Dpop;
using Gateway.Policy;
using Gateway.Revocation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Gateway.Signals;

/// <summary>
/// <c>POST /signals/events</c>: the OpenID Shared Signals push receiver (RFC 8935). One SET per request, verified
/// (<see cref="SecurityEventTokenVerifier"/>), checked once across replicas by its <c>jti</c>, mapped to revocation
/// rules (<see cref="SignalEventMapper"/>) that feed the same index as <c>POST /revocations</c>. <c>202</c> when
/// accepted, <c>400 {"err", "description"}</c> when not; every SET, accepted or refused, is audited.
/// </summary>
public static class SignalEndpoints
{
    public const string Path = "/signals/events";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(Path, ReceiveAsync);
    }

    private static async Task<IResult> ReceiveAsync(
        HttpRequest request,
        AdminKeyAuthenticator admins,
        PolicyMonitor policies,
        IDpopReplayStore replay,
        IRevocationStore store,
        RevocationIndex index,
        TimeProvider time,
        AdminEvents events,
        CancellationToken cancellationToken)
    {
        var http = request.HttpContext;
        var keyId = admins.Authenticate(request);
        if (keyId is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"gateway-admin\"";
            return await RefusedAsync(events, http, StatusCodes.Status401Unauthorized, "authentication_failed", "This endpoint needs 'Authorization: Bearer ADMIN_KEY' with a configured admin key.");
        }

        http.Features.Set(new AdminEndpoints.AdminCaller(keyId));
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("application/secevent+jwt", StringComparison.OrdinalIgnoreCase))
        {
            return await RefusedAsync(events, http, StatusCodes.Status400BadRequest, "invalid_request", "The body must be one SET, as application/secevent+jwt.");
        }

        var compact = await ReadBodyAsync(request, SecurityEventTokenVerifier.MaxLength, cancellationToken);
        if (compact is null)
        {
            return await RefusedAsync(events, http, StatusCodes.Status400BadRequest, "invalid_request", $"The body is larger than {SecurityEventTokenVerifier.MaxLength} bytes; a SET is far smaller.");
        }

        var snapshot = policies.Current;
        var now = time.GetUtcNow();
        var (set, refusal) = await SecurityEventTokenVerifier.VerifyAsync(compact, snapshot, now, cancellationToken);
        if (set is null)
        {
            return await RefusedAsync(events, http, refusal!.Retry ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status400BadRequest, refusal.Err, refusal.Description);
        }

        var signals = snapshot.Policy.Signals!;
        bool fresh;
        try
        {
            // Namespaced by transmitter: jtis are each transmitter's to choose (RFC 8417 section 2.2).
            fresh = await replay.TryAcceptAsync("set:" + set.Issuer, set.Jti, signals.MaxAge + (2 * snapshot.Policy.Gateway.ClockSkew), cancellationToken);
        }
        catch (DpopReplayStoreUnavailableException)
        {
            return await RefusedAsync(events, http, StatusCodes.Status503ServiceUnavailable, "invalid_request", "The store that remembers SETs is unavailable, so this one cannot be known to be new; send it again later.");
        }

        if (!fresh)
        {
            return await RefusedAsync(events, http, StatusCodes.Status400BadRequest, "invalid_request", "This SET's 'jti' was already received: a replay.");
        }

        var made = new List<string>();
        foreach (var outcome in SignalEventMapper.Map(set, snapshot.Policy, now))
        {
            if (outcome.Revocation is null
                || !RevocationRule.TryCreate(outcome.Revocation, snapshot.Policy.Gateway, now, out var rule, out _))
            {
                // An event about nobody this gateway knows, or one so old that every token it could cut off has expired.
                await events.SignalAsync(http, "signals.ignored", $"set:{set.Jti} event:{outcome.EventType} ({outcome.Ignored ?? "nothing left to revoke"})", StatusCodes.Status202Accepted);
                continue;
            }

            try
            {
                await store.AddAsync(rule, cancellationToken);
            }
            catch (RevocationStoreUnavailableException)
            {
                return await RefusedAsync(events, http, StatusCodes.Status503ServiceUnavailable, "invalid_request", "The revocation store is unavailable; the SET was not acted on.");
            }

            if (index.Add(rule))
            {
                Telemetry.GatewayTelemetry.RecordRevocationLag(time.GetUtcNow() - rule.CreatedAt);
            }

            await events.RevokedAsync(http, rule);
            made.Add(rule.Id);
        }

        await events.SignalAsync(http, "signals.accepted", $"set:{set.Jti} iss:{set.Issuer} rules:{(made.Count == 0 ? "none" : string.Join(',', made))}", StatusCodes.Status202Accepted);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<string?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        // A compact JWS is ASCII; anything else fails verification as not base64url.
        return Encoding.ASCII.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).Trim();
    }

    private static async Task<IResult> RefusedAsync(AdminEvents events, HttpContext http, int status, string err, string description)
    {
        await events.SignalAsync(http, "signals.refused", "set:" + err, status);
        return Results.Json(new Dictionary<string, string> { ["err"] = err, ["description"] = description }, (JsonSerializerOptions?)null, "application/json", status);
    }
}
