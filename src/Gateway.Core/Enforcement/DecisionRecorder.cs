using System.Diagnostics;
using Gateway.Audit;
using Gateway.Policy;
using Gateway.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Enforcement;

/// <summary>
/// Where every decision leaves its traces, whichever component made it (the path guard, the
/// no-route endpoint, the authorization step): the span's attributes, the metrics, the log line
/// and the audit event. One place, so a refusal can never be audited without being traced or
/// the other way round.
/// </summary>
public sealed partial class DecisionRecorder
{
    private readonly AuditWriter? _audit;
    private readonly PolicyMonitor _policies;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private (TelemetrySettings Settings, SubjectHasher Hasher) _hasher;

    /// <param name="audit">The audit writer; null when the policy names no audit sink.</param>
    /// <param name="policies">For the policy digest of decisions no route made, and telemetry settings.</param>
    /// <param name="time">The clock for event times.</param>
    /// <param name="logger">One line per decision: ids and codes only.</param>
    public DecisionRecorder(AuditWriter? audit, PolicyMonitor policies, TimeProvider time, ILogger<DecisionRecorder> logger)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _audit = audit;
        _policies = policies;
        _time = time;
        _logger = logger;
        var telemetry = policies.Current.Policy.Telemetry;
        _hasher = (telemetry, SubjectHasher.Create(telemetry));
    }

    /// <summary>True when decisions are audited (the policy names a sink).</summary>
    public bool IsAuditing => _audit is not null;

    /// <summary>
    /// Reads the caller's prompt and conversation claims into the decision, once: before a forwarded call's
    /// <c>Gateway-*</c> headers are stripped, or when a refusal is audited. A malformed claim is recorded as absent and
    /// logged as a warning; it never changes the decision.
    /// </summary>
    public void CaptureLinks(HttpContext context, AuthorizationDecision decision)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.CallerLinks.Captured)
        {
            return;
        }

        var links = CallerLinks.Read(context.Request.Headers);
        decision.CallerLinks = links;
        if (links.PromptMalformed)
        {
            LogMalformedLink(_logger, decision.DecisionId, GatewayHeaders.PromptSha256, "64 lowercase hex digits, one value");
        }

        if (links.ConversationMalformed)
        {
            LogMalformedLink(_logger, decision.DecisionId, "baggage " + CallerLinks.ConversationBaggageKey,
                $"1 to {CallerLinks.MaxConversationIdLength} letters, digits or - . _ ~ : @ + = /, percent-encoded");
        }
    }

    /// <summary>Stamps the decision on the span and the metrics, and logs it.</summary>
    public void Decided(AuthorizationDecision decision, Activity? activity, long startedTimestamp)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (activity is not null)
        {
            AuthorizeActivity.SetDecision(activity, decision, Hasher());
        }

        var routeId = decision.Route?.Id;
        GatewayTelemetry.RecordDecision(decision.Outcome, decision.ErrorCode, routeId, Stopwatch.GetElapsedTime(startedTimestamp));
        var error = decision.IsShadowDenied ? decision.ShadowError : decision.Error;
        if (error == GatewayError.InsufficientUserAuthentication)
        {
            GatewayTelemetry.RecordStepUpChallenge(routeId);
        }

        if (!decision.IsAllowed)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                LogRefused(_logger, decision.DecisionId, routeId ?? "-", decision.ErrorCode, decision.Reason ?? "-", decision.Token?.Jti ?? "-");
            }
        }
        else if (decision.IsShadowDenied)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                LogShadowDenied(_logger, decision.DecisionId, routeId ?? "-", decision.ErrorCode, decision.Reason ?? "-", decision.Token?.Jti ?? "-");
            }
        }
        else
        {
            LogAllowed(_logger, decision.DecisionId, routeId ?? "-", decision.Token?.Jti ?? "-");
        }
    }

    /// <summary>Records a refusal and writes its problem response.</summary>
    /// <param name="context">The refused request.</param>
    /// <param name="decision">The refusal.</param>
    /// <param name="activity">The <c>gateway.authorize</c> span.</param>
    /// <param name="startedTimestamp">When the decision started, for its duration.</param>
    /// <param name="readBody">
    /// False when the body must not be touched (its framing is what was refused), so the event has no digest of it.
    /// </param>
    public async Task RefuseAsync(HttpContext context, AuthorizationDecision decision, Activity? activity, long startedTimestamp, bool readBody = true)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);

        Decided(decision, activity, startedTimestamp);

        // Read after the decision is timed and before the answer is written, so a client waiting for 100 Continue gets
        // it and sends the body. A body refused for its size is not read at all: the limit exists so such bodies are not.
        if (readBody && decision.BodySha256 is null && decision.Error is not (GatewayError.RequestTooLarge or GatewayError.ContentTooLarge))
        {
            var limit = (decision.Route?.Snapshot.Policy ?? _policies.Current.Policy).Gateway.MaxRequestBodyBytes;
            decision.BodySha256 = await RequestBodyDigest.ComputeAsync(context.Request, limit);
        }

        await ProblemResponseWriter.WriteAsync(context, decision);
        await AuditAsync(context, decision, activity, context.Response.StatusCode);
    }

    /// <summary>
    /// Queues the audit event. The queue is bounded and waits when full: under a slow sink,
    /// requests slow down rather than decisions going unrecorded.
    /// </summary>
    public ValueTask AuditAsync(HttpContext context, AuthorizationDecision decision, Activity? activity, int status)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        if (_audit is null)
        {
            return ValueTask.CompletedTask;
        }

        CaptureLinks(context, decision);
        var request = context.Request;
        var policySha256 = decision.Route?.PolicySha256 ?? _policies.Current.Sha256;
        var auditEvent = AuditEvents.FromDecision(decision, request.Method, request.Path.Value ?? "/", decision.BodySha256, status, policySha256, activity ?? Activity.Current, _time.GetUtcNow());

        // The agent may hang up once it has its answer; the event must still be written.
        return _audit.WriteAsync(auditEvent, CancellationToken.None);
    }

    private SubjectHasher Hasher()
    {
        var telemetry = _policies.Current.Policy.Telemetry;
        var current = _hasher;
        if (ReferenceEquals(current.Settings, telemetry) || current.Settings == telemetry)
        {
            return current.Hasher;
        }

        var hasher = SubjectHasher.Create(telemetry);
        _hasher = (telemetry, hasher);
        return hasher;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Decision {DecisionId}: deny {Error} on route {Route} (reason {Reason}, jti {Jti})")]
    private static partial void LogRefused(ILogger logger, string decisionId, string route, string error, string reason, string jti);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Decision {DecisionId}: shadow_deny {Error} on route {Route} (reason {Reason}, jti {Jti}); forwarded because the route is in shadow mode")]
    private static partial void LogShadowDenied(ILogger logger, string decisionId, string route, string error, string reason, string jti);

    // The value itself is not logged: it is the caller's, of unknown content.
    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Decision {DecisionId}: {Link} is malformed (expected {Shape}); recorded as absent, the decision is unchanged")]
    private static partial void LogMalformedLink(ILogger logger, string decisionId, string link, string shape);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Decision {DecisionId}: allow on route {Route} (jti {Jti})")]
    private static partial void LogAllowed(ILogger logger, string decisionId, string route, string jti);
}
