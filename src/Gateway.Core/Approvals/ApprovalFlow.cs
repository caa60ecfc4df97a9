using System.Security.Cryptography;
using System.Text;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Approvals;

/// <summary>
/// Check 8 of the decision, and the risk budget's escalation in check 10. A call that needs a human
/// and carries no <c>Approval-Id</c> gets an approval request and a 403 naming it; a call that carries
/// one is admitted only when that approval was given for exactly this call (same token or (sub, agent),
/// method, path and body digest), is approved and unexpired, and it is used up atomically as the call
/// is admitted. A mismatched retry uses nothing.
/// </summary>
public sealed partial class ApprovalFlow
{
    /// <summary>The request header that names the approval a retry relies on.</summary>
    public const string Header = "Approval-Id";

    /// <summary>How long an agent is told to wait before asking again whether a human has decided.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StoreRetry = TimeSpan.FromSeconds(1);

    private readonly IApprovalStore _store;
    private readonly ApprovalLinks _links;
    private readonly IApprovalEvents _events;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ApprovalFlow(IApprovalStore store, ApprovalLinks links, IApprovalEvents events, TimeProvider time, ILogger<ApprovalFlow> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(links);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _links = links;
        _events = events;
        _time = time;
        _logger = logger;
    }

    public IApprovalStore Store => _store;

    /// <summary>
    /// Runs after checks 1-7 let the call through. <paramref name="charge"/> is checks 9-11; it runs only
    /// for a call that needs no approval or carries a valid one, and its risk-budget refusal becomes an
    /// approval request when the policy says <c>on_exceed: approval</c>.
    /// </summary>
    public ValueTask<AuthorizationDecision> AdmitAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute route, Charge charge)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(charge);
        var cancellationToken = context.RequestAborted;
        if (!decision.IsAllowed || decision.IsShadowDenied || decision.Token is null)
        {
            return charge(decision, route, cancellationToken);
        }

        // An MCP message is bound by its tool and arguments, and a client's SDK cannot add a header to one call:
        // the approved call is found again by its call key when the agent retries it (RequestAsync).
        var header = decision.Mcp is null ? context.Request.Headers[Header] : default;
        if (header.Count > 0)
        {
            return UseApprovalAsync(context, decision, route, header.Count == 1 ? header[0] : null, charge);
        }

        if (route.Approval == ApprovalRequirement.Required)
        {
            // In shadow mode the refusal is only recorded, so no human is asked for anything.
            return route.Mode == EnforcementMode.Shadow
                ? new(AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired, TierDetail(route)))
                : RequestAsync(context, decision, route, ApprovalReason.Tier, charge);
        }

        // The common case: no approval in play. Only a risk-budget refusal needs more work.
        var charged = charge(decision, route, cancellationToken);
        if (!charged.IsCompletedSuccessfully)
        {
            return EscalateAsync(context, route, charged, charge);
        }

        var result = charged.Result;
        return IsRiskEscalation(result) ? RequestAsync(context, result, route, ApprovalReason.RiskBudget, charge) : new(result);
    }

    /// <summary>Checks 9-11, as the evaluator runs them.</summary>
    public delegate ValueTask<AuthorizationDecision> Charge(AuthorizationDecision decision, CompiledRoute route, CancellationToken cancellationToken);

    private async ValueTask<AuthorizationDecision> EscalateAsync(HttpContext context, CompiledRoute route, ValueTask<AuthorizationDecision> charged, Charge charge)
    {
        var decision = await charged;
        return IsRiskEscalation(decision) ? await RequestAsync(context, decision, route, ApprovalReason.RiskBudget, charge) : decision;
    }

    private static bool IsRiskEscalation(AuthorizationDecision decision) =>
        decision.Error == GatewayError.ApprovalRequired && decision.Reason == "risk_budget";

    /// <summary>Creates the approval request (or finds the one already open for this exact call) and refuses.</summary>
    private async ValueTask<AuthorizationDecision> RequestAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute route, ApprovalReason reason, Charge charge)
    {
        var token = decision.Token!;
        var settings = route.Snapshot.Policy.Approvals;
        var cancellationToken = context.RequestAborted;
        var preview = new BodyPreview(ApprovalSettings.DefaultRedact.Concat(settings.Redact), settings.PreviewChars);
        var body = decision.Mcp is { } mcp
            ? McpBody(mcp, preview)
            : await RequestBody.ReadAsync(context.Request, settings.MaxBodyBytes, preview, cancellationToken);
        if (body is null)
        {
            return TooLarge(decision, route, settings);
        }

        decision.BodySha256 = body.Length > 0 ? body.Sha256 : null;

        var record = NewRecord(context, decision, route, reason, token, body, settings);
        ApprovalCreateResult created;
        try
        {
            created = await _store.CreateAsync(record, settings.MaxOpen, cancellationToken);
        }
        catch (ApprovalStoreUnavailableException ex)
        {
            return StoreUnavailable(decision, route, ex);
        }

        var riskWait = decision.RetryAfter;
        switch (created.Outcome)
        {
            case ApprovalCreateOutcome.TooManyOpen:
                decision.RetryAfter = created.RetryAfter;
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                    $"This call needs a human approval, but {settings.MaxOpen} approval requests of this user and agent are already open; retry once some are decided or expire.",
                    "too_many_approvals");
            case ApprovalCreateOutcome.Created:
                var reasonWord = reason.ToWord();
                LogRequested(_logger, record.Id, decision.DecisionId, route.Id, reasonWord, record.BodySha256);
                await PublishAsync(new ApprovalEvent(ApprovalEventKind.Requested, record, record.CreatedAt, decision.DecisionId), cancellationToken);
                break;
        }

        var existing = created.Record!;
        Link(decision, route, existing.Id);
        var now = _time.GetUtcNow();
        var wait = existing.ExpiresAt - now;
        switch (existing.EffectiveState(now))
        {
            case ApprovalState.Approved when decision.Mcp is not null:
                // The call key matched: the same token (or user and agent), route, tool and arguments as approved.
                decision.ClearRefusal();
                return await UseApprovedAsync(decision, route, existing, charge, cancellationToken);
            case ApprovalState.Approved:
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                    $"Approval {existing.Id} for this exact call was granted; retry with the header '{Header}: {existing.Id}' within {Seconds(wait)} seconds.", "approval_granted");
            case ApprovalState.Denied:
                decision.RetryAfter = null;
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired, DeniedDetail(existing), "approval_denied");
            default:
                // A risk-budget refusal may also end by waiting for the window to roll; say whichever comes first.
                decision.RetryAfter = riskWait is { } roll && roll < PollInterval ? roll : PollInterval;
                var why = reason == ApprovalReason.Tier ? TierDetail(route) : decision.Detail;
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                    $"{why} Approval {existing.Id} is pending at {decision.ApprovalUrl}; once a human approves it, retry this exact call with the header '{Header}: {existing.Id}' within {Seconds(wait)} seconds.",
                    reason == ApprovalReason.Tier ? "approval_pending" : "risk_budget");
        }
    }

    /// <summary>A retry that names an approval: bound, approved, unexpired, then used once as the call is charged.</summary>
    private async ValueTask<AuthorizationDecision> UseApprovalAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute route, string? id, Charge charge)
    {
        var cancellationToken = context.RequestAborted;
        if (id is null || !IsApprovalId(id))
        {
            return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                $"The '{Header}' header must carry one approval id (32 hex characters) from an approval_required refusal.", "approval_invalid");
        }

        ApprovalRecord? record;
        try
        {
            record = await _store.GetAsync(id, cancellationToken);
        }
        catch (ApprovalStoreUnavailableException ex)
        {
            return StoreUnavailable(decision, route, ex);
        }

        if (record is null)
        {
            return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                $"No approval {id} is known (an old one is forgotten after it expires); retry without '{Header}' to ask for a new one.", "approval_unknown");
        }

        Link(decision, route, record.Id);

        // Cheap checks first: a call for another token, route or path is refused before its body is read.
        var mismatch = Mismatch(record, decision, route, context.Request);
        if (mismatch is null)
        {
            var settings = route.Snapshot.Policy.Approvals;
            var body = await RequestBody.ReadAsync(context.Request, settings.MaxBodyBytes, preview: null, cancellationToken);
            if (body is null)
            {
                return TooLarge(decision, route, settings);
            }

            decision.BodySha256 = body.Length > 0 ? body.Sha256 : null;

            mismatch = string.Equals(body.Sha256, record.BodySha256, StringComparison.Ordinal) ? null : "another request body";
        }

        if (mismatch is not null)
        {
            LogMismatch(_logger, record.Id, decision.DecisionId, route.Id, mismatch);
            return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                $"Approval {record.Id} was given for {mismatch}, not for this call, and is left unused; an approval admits only the exact call it was asked for.", "approval_mismatch");
        }

        return await UseApprovedAsync(decision, route, record, charge, cancellationToken);
    }

    /// <summary>Spends an approval bound to this call (if it is approved and unused) and charges the call.</summary>
    private async ValueTask<AuthorizationDecision> UseApprovedAsync(AuthorizationDecision decision, CompiledRoute route, ApprovalRecord record, Charge charge, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var state = record.EffectiveState(now);
        if (state == ApprovalState.Approved)
        {
            ApprovalTransition used;
            try
            {
                used = await _store.ConsumeAsync(record, decision.DecisionId, cancellationToken);
            }
            catch (ApprovalStoreUnavailableException ex)
            {
                return StoreUnavailable(decision, route, ex);
            }

            if (used.Outcome == ApprovalTransitionOutcome.Done)
            {
                return await ChargeApprovedAsync(decision, route, record, charge, cancellationToken);
            }

            state = used.Outcome == ApprovalTransitionOutcome.Expired ? ApprovalState.Expired : used.State ?? ApprovalState.Used;
        }

        return await RefuseUnusable(decision, route, record, state, cancellationToken);
    }

    /// <summary>What an MCP message's approval binds instead of a request body: its canonical arguments.</summary>
    private static RequestBody McpBody(Mcp.McpMessageInfo mcp, BodyPreview preview)
    {
        var (text, truncated) = preview.Render(mcp.CanonicalArguments.Span, "application/json");
        return new RequestBody(mcp.ArgumentsSha256 ?? RequestBody.EmptySha256, mcp.CanonicalArguments.Length, "application/json", text, truncated);
    }

    private async ValueTask<AuthorizationDecision> ChargeApprovedAsync(AuthorizationDecision decision, CompiledRoute route, ApprovalRecord record, Charge charge, CancellationToken cancellationToken)
    {
        decision.Approved = true;
        var charged = await charge(decision, route, cancellationToken);
        if (charged.IsAllowed)
        {
            LogUsed(_logger, record.Id, decision.DecisionId, route.Id, record.TraceId);
            await PublishAsync(new ApprovalEvent(ApprovalEventKind.Used, record, _time.GetUtcNow(), decision.DecisionId), cancellationToken);
            return charged;
        }

        // Refused after all (steps used up, store down): a refused call must not spend a human's approval.
        try
        {
            await _store.ReleaseAsync(record, decision.DecisionId, CancellationToken.None);
        }
        catch (ApprovalStoreUnavailableException ex)
        {
            LogReleaseFailed(_logger, ex, record.Id, decision.DecisionId);
        }

        return charged;
    }

    private async ValueTask<AuthorizationDecision> RefuseUnusable(AuthorizationDecision decision, CompiledRoute route, ApprovalRecord record, ApprovalState state, CancellationToken cancellationToken)
    {
        switch (state)
        {
            case ApprovalState.Pending:
                decision.RetryAfter = PollInterval;
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                    $"Approval {record.Id} is still waiting for a human at {decision.ApprovalUrl}; retry later with the same header.", "approval_pending");
            case ApprovalState.Denied:
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired, DeniedDetail(record), "approval_denied");
            case ApprovalState.Used:
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                    $"Approval {record.Id} was already used; each approval admits one call. Retry without '{Header}' to ask for a new one.", "approval_used");
            default:
                await ExpireAsync(record, cancellationToken);
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                    $"Approval {record.Id} expired unused; retry without '{Header}' to ask for a new one.", "approval_expired");
        }
    }

    /// <summary>Marks a record expired; the one caller that does so counts and publishes it.</summary>
    internal async ValueTask ExpireAsync(ApprovalRecord record, CancellationToken cancellationToken)
    {
        try
        {
            if (await _store.ExpireAsync(record.Id, cancellationToken))
            {
                LogExpired(_logger, record.Id, record.Route, record.TraceId);
                await PublishAsync(new ApprovalEvent(ApprovalEventKind.Expired, record with { State = ApprovalState.Expired }, _time.GetUtcNow()), cancellationToken);
            }
        }
        catch (ApprovalStoreUnavailableException)
        {
            // Counting an expiry is bookkeeping; the refusal stands either way.
        }
    }

    internal async ValueTask PublishAsync(ApprovalEvent approvalEvent, CancellationToken cancellationToken)
    {
        ApprovalMetrics.Record(approvalEvent.Kind, approvalEvent.Record, approvalEvent.Time);
        try
        {
            await _events.OnApprovalEventAsync(approvalEvent, cancellationToken);
        }
#pragma warning disable CA1031 // A failing audit hook must not turn an approval into a failed request.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogEventHookFailed(_logger, ex, approvalEvent.Kind.ToString(), approvalEvent.Record.Id);
        }
    }

    /// <summary>What differs between the approved call and this one, in words, or null when nothing (the body is checked after).</summary>
    private static string? Mismatch(ApprovalRecord record, AuthorizationDecision decision, CompiledRoute route, HttpRequest request)
    {
        var token = decision.Token!;
        if (record.Binding == ApprovalBinding.Token
            ? !string.Equals(record.Jti, token.Jti, StringComparison.Ordinal)
            : !string.Equals(record.Subject, token.Subject, StringComparison.Ordinal) || !string.Equals(record.Agent, token.Agent, StringComparison.Ordinal))
        {
            return record.Binding == ApprovalBinding.Token ? "another token" : "another user or agent";
        }

        if (!string.Equals(record.Method, request.Method, StringComparison.Ordinal))
        {
            return "another method";
        }

        if (!string.Equals(record.Path, PathAndQuery(request), StringComparison.Ordinal)
            || !string.Equals(record.Route, route.Id, StringComparison.Ordinal)
            || !string.Equals(record.Resource, decision.Resource, StringComparison.Ordinal))
        {
            return "another path";
        }

        return null;
    }

    private ApprovalRecord NewRecord(HttpContext context, AuthorizationDecision decision, CompiledRoute route, ApprovalReason reason, CapabilityToken token, RequestBody body, ApprovalSettings settings)
    {
        var request = context.Request;
        var now = _time.GetUtcNow();
        var mcp = decision.Mcp;

        // An MCP approval is for one tool, prompt or resource: the record's method is the JSON-RPC method, its path the target.
        var method = mcp?.Method ?? request.Method;
        var path = mcp is null ? PathAndQuery(request) : mcp.Target ?? "";
        var identity = settings.Bind == ApprovalBinding.Token ? "jti\n" + token.Jti : "sub\n" + token.Subject + "\nagent\n" + token.Agent;
        return new ApprovalRecord
        {
            Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            Reason = reason,
            Route = route.Id,
            Action = route.Action,
            Resource = decision.Resource ?? "",
            Tier = route.Tier.Name,
            Risk = route.Risk,
            Description = Describe(route, request, mcp),
            Irreversible = route.Irreversible,
            Jti = token.Jti,
            Subject = token.Subject,
            Agent = token.Agent,
            Actors = token.Actors,
            TokenChain = token.Chain,
            TokenExpires = token.Expires,
            Grants = [.. token.Grants.Select(g => new ApprovalGrant([.. g.Actions.Select(a => a.Text)], [.. g.Resources.Select(r => r.Text)]))],
            Method = method,
            Path = path,
            BodySha256 = body.Sha256,
            BodyLength = body.Length,
            ContentType = body.ContentType,
            BodyPreview = body.Preview,
            BodyPreviewTruncated = body.PreviewTruncated,
            Binding = settings.Bind,
            CallKey = CallKey(identity, route.Id, method, path, body.Sha256),
            PolicySha256 = route.PolicySha256,
            TraceId = ProblemResponseWriter.TraceId(context),
            DecisionId = decision.DecisionId,
            RiskRemaining = reason == ApprovalReason.RiskBudget ? decision.RiskRemaining : null,
            RiskLimit = reason == ApprovalReason.RiskBudget ? route.Snapshot.Policy.Budgets.RiskLimit : null,
            CreatedAt = now,
            ExpiresAt = now + settings.Ttl,
        };
    }

    private static string? Describe(CompiledRoute route, HttpRequest request, Mcp.McpMessageInfo? mcp)
    {
        if (mcp is null)
        {
            return route.Describe is { } describe && describe.TryExpand(request, out var text, out _) ? text : null;
        }

        return route.Describe is { } template && template.TryExpandMessage(mcp.Arguments, mcp.Variables, out var described, out _)
            ? described
            : $"MCP {mcp.Method} {mcp.Target}";
    }

    private static string CallKey(string identity, string route, string method, string path, string bodySha256) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{identity}\nroute\n{route}\n{method}\n{path}\n{bodySha256}")));

    private static string PathAndQuery(HttpRequest request) => request.Path.Value + request.QueryString.Value;

    private void Link(AuthorizationDecision decision, CompiledRoute route, string id)
    {
        decision.ApprovalId = id;
        decision.ApprovalUrl = _links.For(route.Snapshot.Policy.Approvals, id);
    }

    private static AuthorizationDecision TooLarge(AuthorizationDecision decision, CompiledRoute route, ApprovalSettings settings)
    {
        decision.RetryAfter = null;
        return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ContentTooLarge,
            $"This call needs a human approval, which binds the request body by its digest, and bodies of such calls may be at most {settings.MaxBodyBytes} bytes.", "approval_body");
    }

    private AuthorizationDecision StoreUnavailable(AuthorizationDecision decision, CompiledRoute route, ApprovalStoreUnavailableException exception)
    {
        LogStoreUnavailable(_logger, decision.DecisionId, route.Id, exception.Message);
        decision.RetryAfter = StoreRetry;
        return AuthorizationEvaluator.Refuse(decision, route, GatewayError.PolicyStoreUnavailable,
            "The gateway cannot reach its approval store, so it cannot check or record an approval; retry shortly.", "store_unavailable");
    }

    private static string TierDetail(CompiledRoute route) =>
        $"Route '{route.Id}' ({route.Tier.Name} tier) needs a human approval for every call.";

    private static string DeniedDetail(ApprovalRecord record)
    {
        var note = record.Note is { Length: > 0 } text ? $": \"{(text.Length > 200 ? text[..200] : text)}\"" : "";
        return $"A human denied approval {record.Id} for this exact call{note}. Do not retry it unchanged.";
    }

    private static long Seconds(TimeSpan span) => Math.Max(0, (long)Math.Ceiling(span.TotalSeconds));

    private static bool IsApprovalId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Approval {ApprovalId} requested by decision {DecisionId} on route {Route} (reason {Reason}, body sha256 {BodySha256})")]
    private static partial void LogRequested(ILogger logger, string approvalId, string decisionId, string route, string reason, string bodySha256);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "Approval {ApprovalId} used by decision {DecisionId} on route {Route} (requested in trace {TraceId})")]
    private static partial void LogUsed(ILogger logger, string approvalId, string decisionId, string route, string traceId);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "Approval {ApprovalId} refused for decision {DecisionId} on route {Route}: given for {Mismatch}; left unused")]
    private static partial void LogMismatch(ILogger logger, string approvalId, string decisionId, string route, string mismatch);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "Approval {ApprovalId} on route {Route} expired unused (requested in trace {TraceId})")]
    private static partial void LogExpired(ILogger logger, string approvalId, string route, string traceId);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "Decision {DecisionId}: approval store unavailable on route {Route}, refused with 503: {Reason}")]
    private static partial void LogStoreUnavailable(ILogger logger, string decisionId, string route, string reason);

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "Approval {ApprovalId} could not be released after decision {DecisionId} was refused; it stays used")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string approvalId, string decisionId);

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "The approval event hook failed for a {Kind} event of approval {ApprovalId}")]
    private static partial void LogEventHookFailed(ILogger logger, Exception exception, string kind, string approvalId);
}
