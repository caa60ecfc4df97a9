using System.Diagnostics;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Telemetry;
using Gateway.Upstreams;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Enforcement;

/// <summary>
/// Runs inside YARP's pipeline, after a route matched and before the request is forwarded:
/// evaluates the decision, writes the refusal, or shapes the request for the upstream.
/// </summary>
internal sealed class AuthorizationMiddleware
{
    private readonly RequestDelegate _next;
    private readonly AuthorizationEvaluator _evaluator;
    private readonly DecisionRecorder _recorder;
    private readonly RevocationIndex? _revocations;
    private readonly Mcp.McpRouteHandler _mcp;

    /// <param name="next">YARP's forwarder.</param>
    /// <param name="evaluator">The decision.</param>
    /// <param name="recorder">Audit, span and metrics of each decision.</param>
    /// <param name="mcp">Decides the requests of MCP routes.</param>
    /// <param name="revocations">Told of every call let through, so a revocation arriving later can say what it let through; null tells nobody.</param>
    public AuthorizationMiddleware(RequestDelegate next, AuthorizationEvaluator evaluator, DecisionRecorder recorder, Mcp.McpRouteHandler mcp, RevocationIndex? revocations = null)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(mcp);
        _next = next;
        _evaluator = evaluator;
        _recorder = recorder;
        _revocations = revocations;
        _mcp = mcp;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();

        // The span stays open across the forwarded call, so YARP's client span and the upstream's
        // traceparent are its children: the chain of custody is one trace.
        using var activity = GatewayTelemetry.StartAuthorize();
        var route = context.GetEndpoint()?.Metadata.GetMetadata<CompiledRoute>();

        // Before anything is decided or charged: a body too large is refused without consuming budget, and is never forwarded.
        if (route is not null && route.LiteralsMatchExactly(context.Request.Path.Value)
            && await RequestBodyLimit.CheckAsync(context, route.Snapshot.Policy.Gateway.MaxRequestBodyBytes) is { } tooLarge)
        {
            var refusal = new AuthorizationDecision
            {
                DecisionId = DecisionIds.Next(),
                Route = route,
                Resource = route.Resource.TryExpand(context.Request, out var resource, out _) ? resource : null,
            }.Refuse(GatewayError.RequestTooLarge, tooLarge, "body");
            await _recorder.RefuseAsync(context, refusal, activity, started);
            return;
        }

        // An MCP route decides each JSON-RPC message of the body on its own target (contract section 9).
        if (route?.Mcp is not null && route.LiteralsMatchExactly(context.Request.Path.Value))
        {
            await _mcp.InvokeAsync(context, route, _next, activity, started);
            return;
        }

        var decision = await _evaluator.EvaluateAsync(context, route);
        if (!decision.IsAllowed)
        {
            await _recorder.RefuseAsync(context, decision, activity, started);
            return;
        }

        // Only now, for a call that will be forwarded: a refused call never fetches or sees a credential.
        if (route?.Credential is { } credential && !await AttachCredentialAsync(context, decision, credential))
        {
            await _recorder.RefuseAsync(context, decision, activity, started);
            return;
        }

        // A shadow-mode refusal is let through by design, not for want of a revocation: only real allowances count.
        if (decision.Token is { } token && !decision.IsShadowDenied)
        {
            _revocations?.RecordAllowed(token);
        }

        _recorder.Decided(decision, activity, started);

        // The caller's links travel in Gateway-* headers, which the upstream must not see: read them first.
        if (_recorder.IsAuditing)
        {
            _recorder.CaptureLinks(context, decision);
        }

        PrepareUpstreamRequest(context.Request.Headers, decision);
        context.Response.OnStarting(static state => AddResponseHeaders((HttpContext)state), context);
        context.Features.Set(decision);

        // An approval already read the body and took its digest; any other body is hashed as it streams to the upstream.
        var digest = decision.BodySha256 is null && RequestBodyDigest.HasBody(context.Request) ? RequestBodyDigest.Install(context.Request) : null;

        // The answer is counted and hashed as it streams to the client, for the event's outcome and the bytes metric;
        // with neither wanted, nothing is put in its way.
        var answer = _recorder.IsAuditing || GatewayTelemetry.UpstreamResponseBytes.Enabled ? ResponseBodyDigest.Install(context.Response) : null;
        var forwarded = Stopwatch.GetTimestamp();
        try
        {
            await _next(context);
        }
        finally
        {
            if (answer is not null)
            {
                decision.ForwardedOutcome = UpstreamOutcome.Of(context, answer, Stopwatch.GetElapsedTime(forwarded));
                answer.Uninstall(context.Response);
                answer.Dispose();
                GatewayTelemetry.RecordUpstreamResponseBytes(decision.ForwardedOutcome.Bytes, decision.Route?.Id, decision.Route?.Tier.Name);
            }

            if (digest is not null)
            {
                decision.BodySha256 = await digest.FinishAsync(context.Request, decision.Route!.Snapshot.Policy.Gateway.MaxRequestBodyBytes);
                digest.Uninstall(context.Request);
                digest.Dispose();
            }

            await _recorder.AuditAsync(context, decision, activity, context.Response.StatusCode);
        }
    }

    /// <summary>
    /// Gets the upstream's credential for this call and leaves the header for the forwarding transform. False when it
    /// cannot be had: the call is then refused with 503 rather than sent to the upstream without it.
    /// </summary>
    internal static async ValueTask<bool> AttachCredentialAsync(HttpContext context, AuthorizationDecision decision, UpstreamCredential credential)
    {
        decision.Credential = credential;
        var result = await credential.GetAsync(decision.Token, context.RequestAborted);
        if (!result.IsAvailable)
        {
            GatewayTelemetry.RecordCredentialFailure(credential.Upstream, credential.Kind);
            decision.CredentialsUnavailable(
                $"The gateway could not obtain its credential for upstream '{credential.Upstream}' ({credential.Kind} {credential.Id}): {result.Failure}. The call was not forwarded.",
                result.RetryAfter);
            return false;
        }

        if (result.HeaderName is { } name)
        {
            context.Features.Set(new UpstreamCredentialFeature(name, result.HeaderValue!));
        }

        return true;
    }

    /// <summary>
    /// The upstream must see who the gateway vouches for, and nothing an agent could forge: every inbound
    /// <c>Gateway-*</c> header goes and the gateway's own come in. The credentials are left out of the
    /// forwarded request by <see cref="GatewayTransforms"/>.
    /// </summary>
    internal static void PrepareUpstreamRequest(IHeaderDictionary headers, AuthorizationDecision decision)
    {
        RemoveGatewayHeaders(headers);
        headers[GatewayHeaders.DecisionId] = decision.DecisionId;
        if (decision.Token is { } token)
        {
            headers[GatewayHeaders.Subject] = HeaderValue.Encode(token.Subject);
            headers[GatewayHeaders.Agent] = HeaderValue.Encode(token.Agent);
        }
    }

    private static void RemoveGatewayHeaders(IHeaderDictionary headers)
    {
        List<string>? spoofed = null;
        foreach (var header in headers)
        {
            if (header.Key.StartsWith(GatewayHeaders.Prefix, StringComparison.OrdinalIgnoreCase))
            {
                (spoofed ??= []).Add(header.Key);
            }
        }

        if (spoofed is null)
        {
            return;
        }

        foreach (var name in spoofed)
        {
            headers.Remove(name);
        }
    }

    internal static Task AddResponseHeaders(HttpContext context)
    {
        var decision = context.Features.Get<AuthorizationDecision>();
        if (decision is null)
        {
            return Task.CompletedTask;
        }

        var headers = context.Response.Headers;

        // Upstreams do not get to speak for the gateway either.
        RemoveGatewayHeaders(headers);
        headers[GatewayHeaders.DecisionId] = decision.DecisionId;
        if (decision.StepsRemaining is { } steps)
        {
            headers[GatewayHeaders.StepsRemaining] = new StringValues(Numbers.ToString(steps));
        }

        if (decision.RiskRemaining is { } risk)
        {
            headers[GatewayHeaders.RiskRemaining] = new StringValues(Numbers.ToString(risk));
        }

        // The nonce is the gateway's to give: an upstream's DPoP-Nonce would be for a different resource server.
        headers.Remove(GatewayHeaders.DPoPNonce);
        if (decision.DpopNonce is { } nonce)
        {
            headers[GatewayHeaders.DPoPNonce] = nonce;
        }

        return Task.CompletedTask;
    }
}
