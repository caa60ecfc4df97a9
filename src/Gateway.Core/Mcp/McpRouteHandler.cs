using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Gateway.Enforcement;
using Gateway.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Mcp;

/// <summary>
/// An MCP route's request (contract section 9): the Origin rule, checks 1-5 once per request, the session's owner, then
/// each JSON-RPC message of the body decided on its own target in the contract's order. Nothing refused is forwarded;
/// a batch is forwarded only whole. Allowed requests go to the MCP server with the body as it came, and an answer to
/// <c>tools/list</c> comes back filtered to the tools the token may call.
/// </summary>
public sealed partial class McpRouteHandler
{
    /// <summary>How long an unused session binding is kept; each request of the session renews it.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(24);

    private static readonly TimeSpan StoreRetry = TimeSpan.FromSeconds(1);

    private readonly AuthorizationEvaluator _evaluator;
    private readonly McpMessageDecider _messages;
    private readonly DecisionRecorder _recorder;
    private readonly IMcpSessionStore _sessions;
    private readonly McpToolHeaderCache _toolHeaders;
    private readonly ILogger _logger;

    public McpRouteHandler(AuthorizationEvaluator evaluator, DecisionRecorder recorder, IMcpSessionStore sessions, McpToolHeaderCache toolHeaders, ILogger<McpRouteHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(toolHeaders);
        ArgumentNullException.ThrowIfNull(logger);
        _evaluator = evaluator;
        _messages = new McpMessageDecider(evaluator);
        _recorder = recorder;
        _sessions = sessions;
        _toolHeaders = toolHeaders;
        _logger = logger;
    }

    /// <summary>Decides and forwards (through <paramref name="next"/>, YARP's forwarder) one request of an MCP route.</summary>
    internal async Task InvokeAsync(HttpContext context, CompiledRoute route, RequestDelegate next, Activity? activity, long started)
    {
        var request = context.Request;
        var mcp = route.Mcp!;
        var metadata = ResourceMetadataUrl(request, route);

        // DNS rebinding: a page in a browser must not reach a localhost MCP server through the gateway.
        if (OriginProblem(request, mcp) is { } origin)
        {
            var refused = new AuthorizationDecision { DecisionId = DecisionIds.Next(), Route = route }.Refuse(GatewayError.OriginNotAllowed, origin, "origin");
            await _recorder.RefuseAsync(context, refused, activity, started);
            return;
        }

        byte[]? body = null;
        if (HttpMethods.IsPost(request.Method))
        {
            var limit = (int)Math.Min(JsonRpcParserOptions.Default.MaxBodyBytes, route.Snapshot.Policy.Gateway.MaxRequestBodyBytes);
            body = await ReadBodyAsync(request, limit, context.RequestAborted);
            if (body is null)
            {
                var tooLarge = new AuthorizationDecision { DecisionId = DecisionIds.Next(), Route = route }.Refuse(GatewayError.RequestTooLarge,
                    $"The JSON-RPC body is larger than this gateway reads for an MCP route ({limit} bytes).", "body");
                await _recorder.RefuseAsync(context, tooLarge, activity, started, readBody: false);
                return;
            }

            // The upstream gets exactly these bytes; any later reader (the refusal's digest) reads them again.
            request.Body = new MemoryStream(body, writable: false);
            request.ContentLength = body.Length;
        }

        var auth = await _evaluator.AuthenticateAsync(context, route);
        auth.ResourceMetadata = metadata;
        if (body is not null)
        {
            auth.BodySha256 = body.Length > 0 ? Convert.ToHexStringLower(SHA256.HashData(body)) : null;
        }

        if (!auth.IsAllowed)
        {
            await _recorder.RefuseAsync(context, auth, activity, started);
            return;
        }

        var session = await CheckSessionAsync(context, auth, route);
        if (session.Refusal is not null)
        {
            await _recorder.RefuseAsync(context, session.Refusal, activity, started);
            return;
        }

        if (body is null)
        {
            // GET (the server's own stream) and DELETE (end of a session) carry no message: checks 1-5 and the session.
            await ForwardAsync(context, route, next, activity, started, [auth], auth, session.Id, listIds: null);
            return;
        }

        using var parsed = JsonRpcParser.Parse(body);
        if (parsed.Error is { } invalid)
        {
            auth.Refuse(GatewayError.InvalidRequest, invalid.Message, invalid.Reason);
            await AnswerAsync(context, [auth], activity, started, StatusCodes.Status400BadRequest, JsonRpcErrorWriter.Invalid(null, invalid));
            return;
        }

        var single = parsed.Messages.Count == 1 ? parsed.Messages[0] : null;
        var toolHeaders = single is { KnownMethod: McpMethod.ToolsCall, Name: { } tool } ? _toolHeaders.Find(route.Id, tool) : null;
        if (McpHeaderCheck.Check(request.Headers, parsed, toolHeaders) is { } mismatch)
        {
            auth.Refuse(GatewayError.HeaderMismatch, mismatch.Detail, mismatch.Header);
            auth.Mcp = single is null ? null : McpMessageDecider.Info(single, session.Id, null);
            await AnswerAsync(context, [auth], activity, started, StatusCodes.Status400BadRequest, JsonRpcErrorWriter.HeaderMismatch(single?.Id, mismatch));
            return;
        }

        var decisions = await _messages.DecideAsync(context, route, auth, parsed, session.Id);
        if (FirstRefusal(decisions) is { } refusal)
        {
            await RefuseMessagesAsync(context, decisions, refusal, parsed, activity, started);
            return;
        }

        var listIds = ListRequestIds(parsed);
        await ForwardAsync(context, route, next, activity, started, decisions, Primary(decisions), session.Id, listIds);
    }

    private async Task RefuseMessagesAsync(HttpContext context, AuthorizationDecision[] decisions, AuthorizationDecision refusal, JsonRpcBody parsed, Activity? activity, long started)
    {
        // Nothing of the request is forwarded, so no message of it may be recorded as allowed.
        foreach (var decision in decisions)
        {
            if (decision.IsAllowed)
            {
                decision.Refuse(GatewayError.InvalidRequest, McpMessageDecider.BatchRefused, "batch_refused");
            }
        }

        // Checks 1-7 speak HTTP, so an MCP client's own authorization flow (scope challenge, step-up) can act on them.
        if (refusal.Error is GatewayError.InsufficientScope or GatewayError.InsufficientUserAuthentication)
        {
            foreach (var decision in decisions)
            {
                if (!ReferenceEquals(decision, refusal))
                {
                    _recorder.Decided(decision, null, started);
                }
            }

            await _recorder.RefuseAsync(context, refusal, activity, started, readBody: false);
            foreach (var decision in decisions)
            {
                if (!ReferenceEquals(decision, refusal))
                {
                    await _recorder.AuditAsync(context, decision, activity, context.Response.StatusCode);
                }
            }

            return;
        }

        // Checks 8-11 and unlisted targets: a JSON-RPC error for the message, and the session goes on.
        byte[] answer;
        if (!parsed.IsBatch)
        {
            answer = Answer(parsed.Messages[0], decisions[0]) is { } one ? JsonRpcErrorWriter.One(one) : JsonRpcErrorWriter.Refusal(null, Refusal(decisions[0]));
        }
        else
        {
            var answers = new List<JsonRpcErrorResponse>(decisions.Length);
            for (var i = 0; i < decisions.Length; i++)
            {
                if (Answer(parsed.Messages[i], decisions[i]) is { } each)
                {
                    answers.Add(each);
                }
            }

            answer = JsonRpcErrorWriter.Batch(CollectionsMarshal.AsSpan(answers));
        }

        // A message that is not valid JSON-RPC makes the request a bad one; a refusal of a valid message is an answer.
        var status = parsed.Messages.Any(m => m.Error is not null) ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK;
        await AnswerAsync(context, decisions, activity, started, status, answer);
    }

    /// <summary>The answer to one message of a refused request: requests get one, notifications and responses none.</summary>
    private static JsonRpcErrorResponse? Answer(JsonRpcMessage message, AuthorizationDecision decision)
    {
        if (message.Kind is JsonRpcMessageKind.Notification or JsonRpcMessageKind.Response)
        {
            return null;
        }

        if (message.Error is { } error)
        {
            return JsonRpcErrorResponse.For(message.Id, error);
        }

        return JsonRpcErrorResponse.For(message.Id, Refusal(decision));
    }

    private static McpRefusal Refusal(AuthorizationDecision decision) => new(decision.ErrorCode, decision.Detail ?? "", decision.DecisionId)
    {
        ApprovalId = decision.ApprovalId,
        ApprovalUrl = decision.ApprovalUrl,
        RetryAfter = decision.RetryAfter is { } wait ? Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)) : null,
    };

    /// <summary>Writes a JSON-RPC answer the gateway makes itself (nothing forwarded) and records every decision of the request.</summary>
    private async Task AnswerAsync(HttpContext context, AuthorizationDecision[] decisions, Activity? activity, long started, int status, byte[] answer)
    {
        foreach (var decision in decisions)
        {
            _recorder.Decided(decision, activity, started);
        }

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.Headers[GatewayHeaders.DecisionId] = decisions[0].DecisionId;
        if (decisions[0].DpopNonce is { } nonce)
        {
            response.Headers[GatewayHeaders.DPoPNonce] = nonce;
        }

        response.ContentLength = answer.Length;
        await response.Body.WriteAsync(answer, context.RequestAborted);
        foreach (var decision in decisions)
        {
            await _recorder.AuditAsync(context, decision, activity, status);
        }
    }

    private async Task ForwardAsync(HttpContext context, CompiledRoute route, RequestDelegate next, Activity? activity, long started, AuthorizationDecision[] decisions, AuthorizationDecision primary, string? sessionId, IReadOnlyCollection<string>? listIds)
    {
        // Only now, for a request that will be forwarded: a refused one never fetches or sees a credential.
        if (route.Credential is { } credential && !await AuthorizationMiddleware.AttachCredentialAsync(context, primary, credential))
        {
            await _recorder.RefuseAsync(context, primary, activity, started, readBody: false);
            return;
        }

        foreach (var decision in decisions)
        {
            if (!ReferenceEquals(decision, primary))
            {
                _recorder.Decided(decision, null, started);
            }
        }

        _recorder.Decided(primary, activity, started);
        AuthorizationMiddleware.PrepareUpstreamRequest(context.Request.Headers, primary);
        context.Features.Set(primary);
        var token = primary.Token!;
        var response = context.Response;
        McpToolsListResponse? filter = null;
        if (listIds is { Count: > 0 })
        {
            var mcp = route.Mcp!;
            filter = new McpToolsListResponse(response, new McpToolsListFilterOptions
            {
                Allow = name => mcp.MayList(token, name),
                ResponseIds = listIds,
                OnTool = (name, definition) => _toolHeaders.Observe(route.Id, name, definition),
            });
            response.Body = filter;
        }

        var opens = sessionId is null && decisions.Any(d => d.Mcp?.Method == "initialize");
        context.Response.OnStarting(state => OnStartingAsync((HttpContext)state, filter is not null, opens ? token : null), context);
        try
        {
            await next(context);
            if (filter is not null)
            {
                await filter.CompleteAsync(context.RequestAborted);
            }
        }
        finally
        {
            if (filter is not null)
            {
                response.Body = filter.InnerStream;
                if (filter.Removed > 0)
                {
                    LogFiltered(_logger, primary.DecisionId, route.Id, filter.Removed);
                }

                await filter.DisposeAsync();
            }

            if (sessionId is not null && HttpMethods.IsDelete(context.Request.Method) && response.StatusCode is >= 200 and < 300)
            {
                await ForgetSessionAsync(sessionId);
            }

            foreach (var decision in decisions)
            {
                await _recorder.AuditAsync(context, decision, activity, response.StatusCode);
            }
        }
    }

    private async Task OnStartingAsync(HttpContext context, bool filtered, Tokens.CapabilityToken? opener)
    {
        await AuthorizationMiddleware.AddResponseHeaders(context);
        var response = context.Response;
        if (filtered && McpToolsListResponse.Rewrites(response.ContentType))
        {
            response.ContentLength = null;
        }

        // The server's answer to initialize names the session: it belongs to the pair that opened it from now on.
        if (opener is not null && response.Headers[McpHeaders.SessionId] is [{ Length: > 0 } opened])
        {
            try
            {
                await _sessions.BindAsync(opened, McpSessionOwner.Of(opener.Subject, opener.Agent), SessionLifetime, CancellationToken.None);
            }
            catch (McpSessionStoreUnavailableException ex)
            {
                // The first request of the session binds it then (CheckSessionAsync), by the same rule.
                LogBindFailed(_logger, ex.Message);
            }
        }
    }

    private async Task ForgetSessionAsync(string sessionId)
    {
        try
        {
            await _sessions.RemoveAsync(sessionId, CancellationToken.None);
        }
        catch (McpSessionStoreUnavailableException ex)
        {
            // The binding then expires on its own; the server has ended the session anyway.
            LogBindFailed(_logger, ex.Message);
        }
    }

    /// <summary>The 2025 generation's session: bound to the (sub, agent) that opened it; another pair is refused.</summary>
    private async ValueTask<(string? Id, AuthorizationDecision? Refusal)> CheckSessionAsync(HttpContext context, AuthorizationDecision auth, CompiledRoute route)
    {
        var values = context.Request.Headers[McpHeaders.SessionId];
        if (values.Count == 0)
        {
            return (null, null);
        }

        var id = values.Count == 1 ? values[0] : null;
        if (id is not { Length: > 0 and <= 256 } || id.Any(c => c is < '!' or > '~'))
        {
            return (null, auth.Refuse(GatewayError.InvalidRequest, "The request must carry one Mcp-Session-Id of visible ASCII characters (at most 256).", "session_id"));
        }

        var token = auth.Token!;
        var owner = McpSessionOwner.Of(token.Subject, token.Agent);
        McpSessionOwner bound;
        try
        {
            // A session the store does not know (bound on a replica whose memory store is gone, or its binding expired)
            // is bound to the first pair that uses it, as if it had opened it.
            bound = await _sessions.FindAsync(id, SessionLifetime, context.RequestAborted)
                ?? await _sessions.BindAsync(id, owner, SessionLifetime, context.RequestAborted);
        }
        catch (McpSessionStoreUnavailableException)
        {
            auth.RetryAfter = StoreRetry;
            return (id, auth.Refuse(GatewayError.PolicyStoreUnavailable, "The gateway cannot reach its store, so it cannot check who this MCP session belongs to; retry shortly.", "store_unavailable"));
        }

        if (bound != owner)
        {
            LogSessionMismatch(_logger, auth.DecisionId, route.Id, token.Jti);
            return (id, AuthorizationEvaluator.Refuse(auth, route, GatewayError.SessionMismatch,
                "This MCP session was opened by another user or agent; a session is used only by the user and agent that opened it."));
        }

        return (id, null);
    }

    private static AuthorizationDecision? FirstRefusal(AuthorizationDecision[] decisions)
    {
        AuthorizationDecision? first = null;
        foreach (var decision in decisions)
        {
            if (decision.IsAllowed)
            {
                continue;
            }

            // The HTTP-level answer (scope, step-up) wins: it is what a client's authorization flow acts on.
            if (decision.Error is GatewayError.InsufficientScope or GatewayError.InsufficientUserAuthentication)
            {
                return decision;
            }

            first ??= decision;
        }

        return first;
    }

    /// <summary>What the response headers, span and credential go by: the charged message's decision, else the first.</summary>
    private static AuthorizationDecision Primary(AuthorizationDecision[] decisions)
    {
        foreach (var decision in decisions)
        {
            if (decision.Route?.Mcp is null && decision.Mcp is { Method: "tools/call" or "resources/read" or "prompts/get" })
            {
                return decision;
            }
        }

        return decisions[0];
    }

    private static List<string>? ListRequestIds(JsonRpcBody parsed)
    {
        List<string>? ids = null;
        foreach (var message in parsed.Messages)
        {
            if (message is { Kind: JsonRpcMessageKind.Request, Method: "tools/list", Id: { } id })
            {
                (ids ??= []).Add(id);
            }
        }

        return ids;
    }

    /// <summary>
    /// Null when the request may go on: no <c>Origin</c> (agents are not browsers), a loopback origin, or one the route
    /// allows; else why it is refused.
    /// </summary>
    internal static string? OriginProblem(HttpRequest request, CompiledMcpRoute mcp)
    {
        var values = request.Headers.Origin;
        if (values.Count == 0)
        {
            return null;
        }

        var text = values.Count == 1 ? values[0] : null;
        if (text is not null && Uri.TryCreate(text, UriKind.Absolute, out var origin) && origin.Scheme is "http" or "https")
        {
            if (origin.IsLoopback && (origin.Host is "localhost" || IPAddress.TryParse(origin.Host.Trim('[', ']'), out _)))
            {
                return null;
            }

            if (mcp.AllowedOrigins.Contains(origin.GetLeftPart(UriPartial.Authority)))
            {
                return null;
            }
        }

        return $"The Origin '{(text is { Length: <= 200 } ? text : "(several or too long)")}' is neither a loopback origin nor one of this MCP route's allowed_origins; a browser page may not reach this MCP server through the gateway.";
    }

    /// <summary>Where this route's RFC 9728 document is, as the agent reaches the gateway.</summary>
    internal static string ResourceMetadataUrl(HttpRequest request, CompiledRoute route) =>
        string.Concat(PublicBase(request, route), ProtectedResourceMetadata.WellKnownPrefix, route.Route.Path);

    /// <summary>The gateway's address as the agent reaches it: <c>dpop.public_base_url</c> when set, else the request's.</summary>
    internal static string PublicBase(HttpRequest request, CompiledRoute route) =>
        route.Snapshot.Policy.Gateway.Dpop.PublicBaseUrl is { } configured
            ? configured.GetLeftPart(UriPartial.Authority)
            : string.Concat(request.Scheme, "://", request.Host.ToUriComponent());

    /// <summary>The whole body, or null when it is larger than <paramref name="limit"/>.</summary>
    private static async ValueTask<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream(request.ContentLength is { } known ? (int)known : 1024);
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Decision {DecisionId}: MCP session on route {Route} used by another user or agent (jti {Jti}); refused")]
    private static partial void LogSessionMismatch(ILogger logger, string decisionId, string route, string jti);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "MCP session binding not stored: {Reason}")]
    private static partial void LogBindFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Debug, Message = "Decision {DecisionId}: tools/list answer on route {Route} filtered, {Removed} tools removed")]
    private static partial void LogFiltered(ILogger logger, string decisionId, string route, int removed);
}
