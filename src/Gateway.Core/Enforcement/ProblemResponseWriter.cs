using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Enforcement;

/// <summary>
/// The single place a refusal becomes HTTP: status, <c>application/problem+json</c> (RFC 9457),
/// <c>WWW-Authenticate</c> (RFC 6750, RFC 9449, RFC 9470) and <c>Retry-After</c>.
/// </summary>
public static class ProblemResponseWriter
{
    public const string ContentType = "application/problem+json";
    private const string TypePrefix = "urn:gateway:problem:";

    // problem+json is never embedded in HTML, so quotes and apostrophes may stay readable.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext context, AuthorizationDecision decision)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        var response = context.Response;
        var error = decision.Error;
        response.StatusCode = error.ToStatusCode();
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        response.Headers[GatewayHeaders.DecisionId] = decision.DecisionId;

        var challenge = Challenge(decision);
        if (challenge is not null)
        {
            response.Headers.WWWAuthenticate = challenge;
        }

        if (decision.DpopNonce is not null)
        {
            response.Headers[GatewayHeaders.DPoPNonce] = decision.DpopNonce;
        }

        if (decision.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = RetryAfterSeconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("type", TypePrefix + error.ToCode());
            json.WriteString("title", error.ToTitle());
            json.WriteNumber("status", response.StatusCode);
            json.WriteString("error", error.ToCode());
            json.WriteString("detail", decision.Detail);
            if (decision.Reason is not null)
            {
                json.WriteString("reason", decision.Reason);
            }

            if (decision.Route is not null)
            {
                json.WriteString("route", decision.Route.Id);
            }

            json.WriteString("trace_id", TraceId(context));
            json.WriteString("decision_id", decision.DecisionId);
            if (decision.RetryAfter is { } wait)
            {
                json.WriteNumber("retry_after", RetryAfterSeconds(wait));
            }

            if (decision.ApprovalId is not null)
            {
                json.WriteString("approval_id", decision.ApprovalId);
                json.WriteString("approval_url", decision.ApprovalUrl);
            }

            json.WriteEndObject();
        }

        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>The W3C trace id of the request, or a fresh one when nothing is tracing it.</summary>
    public static string TraceId(HttpContext context)
    {
        var activity = Activity.Current;
        if (activity is not null && activity.IdFormat == ActivityIdFormat.W3C)
        {
            return activity.TraceId.ToHexString();
        }

        return context.TraceIdentifier;
    }

    private static long RetryAfterSeconds(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));

    internal static string? Challenge(AuthorizationDecision decision)
    {
        var error = decision.Error;
        var scheme = error == GatewayError.InvalidDpopProof ? "DPoP" : "Bearer";
        if (error is not (GatewayError.InvalidToken or GatewayError.InvalidDpopProof or GatewayError.InsufficientUserAuthentication or GatewayError.InsufficientScope))
        {
            return null;
        }

        // RFC 9449 section 8: a missing or stale server nonce is its own challenge error, so clients know to retry with one.
        var code = error == GatewayError.InvalidDpopProof && decision.Reason == Dpop.DpopFailureReasons.UseNonce ? Dpop.DpopFailureReasons.UseNonce : error.ToCode();
        var challenge = $"{scheme} error=\"{code}\", error_description=\"{QuotedStringSafe(decision.Detail)}\"";
        if (decision.ChallengeParameters is not null)
        {
            challenge = $"{challenge}, {decision.ChallengeParameters}";
        }

        // MCP's authorization: the scope to ask for and where the resource's metadata is (RFC 9728 section 5.1).
        if (error == GatewayError.InsufficientScope && decision.RequiredScope is { } scope)
        {
            challenge = $"{challenge}, scope=\"{QuotedStringSafe(scope)}\"";
        }

        return decision.ResourceMetadata is { } metadata ? $"{challenge}, resource_metadata=\"{QuotedStringSafe(metadata)}\"" : challenge;
    }

    // RFC 7235 quoted-string: no '"' or '\', and header values stay visible ASCII.
    private static string QuotedStringSafe(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = c is '"' or '\\' || c < 0x20 || c > 0x7E ? '\'' : c;
            }
        });
    }
}
