using Gateway.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Gateway.Enforcement;

/// <summary>
/// Runs inside YARP's pipeline, after a route matched and before the request is forwarded:
/// evaluates the decision, writes the refusal, or shapes the request for the upstream.
/// </summary>
internal sealed partial class AuthorizationMiddleware
{
    private readonly RequestDelegate _next;
    private readonly AuthorizationEvaluator _evaluator;
    private readonly ILogger _logger;

    public AuthorizationMiddleware(RequestDelegate next, AuthorizationEvaluator evaluator, ILogger<AuthorizationMiddleware> logger)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(logger);
        _next = next;
        _evaluator = evaluator;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<CompiledRoute>();

        // Before anything is decided or charged: a body too large is refused without consuming budget, and is never forwarded.
        if (route is not null && route.LiteralsMatchExactly(context.Request.Path.Value)
            && await RequestBodyLimit.CheckAsync(context, route.Snapshot.Policy.Gateway.MaxRequestBodyBytes) is { } tooLarge)
        {
            var refusal = new AuthorizationDecision { DecisionId = DecisionIds.Next(), Route = route }.Refuse(GatewayError.RequestTooLarge, tooLarge, "body");
            LogRefused(_logger, refusal.DecisionId, route.Id, refusal.ErrorCode, refusal.Reason, null);
            await ProblemResponseWriter.WriteAsync(context, refusal);
            return;
        }

        var decision = await _evaluator.EvaluateAsync(context, route);
        if (!decision.IsAllowed)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                LogRefused(_logger, decision.DecisionId, decision.Route?.Id, decision.ErrorCode, decision.Reason, decision.Token?.Jti);
            }

            await ProblemResponseWriter.WriteAsync(context, decision);
            return;
        }

        if (decision.IsShadowDenied && _logger.IsEnabled(LogLevel.Information))
        {
            LogShadowDenied(_logger, decision.DecisionId, decision.Route?.Id, decision.ErrorCode, decision.Reason, decision.Token?.Jti);
        }
        else if (!decision.IsShadowDenied)
        {
            LogAllowed(_logger, decision.DecisionId, decision.Route?.Id, decision.Token?.Jti);
        }

        PrepareUpstreamRequest(context.Request.Headers, decision);
        context.Response.OnStarting(static state => AddResponseHeaders((HttpContext)state), context);
        context.Features.Set(decision);
        await _next(context);
    }

    /// <summary>
    /// The upstream must see who the gateway vouches for, and nothing an agent could forge:
    /// credentials and every inbound <c>Gateway-*</c> header go, the gateway's own come in.
    /// </summary>
    internal static void PrepareUpstreamRequest(IHeaderDictionary headers, AuthorizationDecision decision)
    {
        headers.Remove(Microsoft.Net.Http.Headers.HeaderNames.Authorization);
        headers.Remove(GatewayHeaders.DPoP);
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

    private static Task AddResponseHeaders(HttpContext context)
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

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Decision {DecisionId}: deny {Error} on route {Route} (reason {Reason}, jti {Jti})")]
    private static partial void LogRefused(ILogger logger, string decisionId, string? route, string error, string? reason, string? jti);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Decision {DecisionId}: shadow_deny {Error} on route {Route} (reason {Reason}, jti {Jti}); forwarded because the route is in shadow mode")]
    private static partial void LogShadowDenied(ILogger logger, string decisionId, string? route, string error, string? reason, string? jti);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Decision {DecisionId}: allow on route {Route} (jti {Jti})")]
    private static partial void LogAllowed(ILogger logger, string decisionId, string? route, string? jti);
}
