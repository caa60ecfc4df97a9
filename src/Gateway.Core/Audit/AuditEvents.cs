using System.Diagnostics;
using Gateway.Enforcement;

namespace Gateway.Audit;

/// <summary>Builds audit events from what the pipeline has at hand, so every caller fills the members the same way.</summary>
public static class AuditEvents
{
    /// <summary>
    /// The event for one decision. Call once per request, after the status the agent gets is known
    /// (the refusal's, or the upstream's for a forwarded call).
    /// </summary>
    /// <param name="decision">The decision; its id becomes <c>event_id</c>.</param>
    /// <param name="method">The request's method.</param>
    /// <param name="path">The request's path, without the query string.</param>
    /// <param name="bodySha256">Lowercase hex SHA-256 of the body, or null when there was none or it was not read.</param>
    /// <param name="status">The HTTP status the agent got.</param>
    /// <param name="policySha256">The policy load in force; a matched route's own load wins.</param>
    /// <param name="activity">The <c>gateway.authorize</c> span (or the server span), for <c>trace_id</c> and <c>span_id</c>.</param>
    /// <param name="time">When the decision was made (from the pipeline's <see cref="TimeProvider"/>).</param>
    public static AuditEvent FromDecision(
        AuthorizationDecision decision,
        string method,
        string path,
        string? bodySha256,
        int status,
        string? policySha256,
        Activity? activity,
        DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        var route = decision.Route;
        var token = decision.Token;
        var (traceId, spanId) = TraceIds(activity);
        return new AuditEvent
        {
            EventId = decision.DecisionId,
            Time = time,
            Decision = decision.IsAllowed
                ? (decision.IsShadowDenied ? AuditDecision.ShadowDeny : AuditDecision.Allow)
                : AuditDecision.Deny,
            Error = decision.ErrorCode is { Length: > 0 } error ? error : null,
            Reason = decision.IsAllowed && !decision.IsShadowDenied ? null : decision.Reason,
            Route = route?.Id,
            Action = route?.Action is { Length: > 0 } action ? action : null,
            Resource = decision.Resource,
            Tier = route?.Tier.Name is { Length: > 0 } tier ? tier : null,
            Risk = route is null || route.Mcp is not null ? null : route.Risk,
            Token = token is null ? null : TokenOf(token),
            Request = new AuditRequest { Method = method, Path = path, BodySha256 = bodySha256 },
            Outcome = decision.ForwardedOutcome,
            Links = LinksOf(decision),
            Status = status,
            Budget = decision.StepsRemaining is null && decision.RiskRemaining is null
                ? null
                : new AuditBudget { StepsLeft = decision.StepsRemaining, RiskLeft = decision.RiskRemaining },
            PolicySha256 = route?.PolicySha256 ?? policySha256,
            TraceId = traceId,
            SpanId = spanId,
            UpstreamCredential = decision.Credential is { } credential ? new AuditCredential { Kind = credential.Kind, Id = credential.Id } : null,
            Mcp = decision.Mcp is { } mcp ? new AuditMcp { Method = mcp.Method, Tool = mcp.Target, Id = mcp.Id, ArgumentsSha256 = mcp.ArgumentsSha256 } : null,
        };
    }

    private static readonly string[] PromptOnly = [AuditLinks.PromptSha256Name];
    private static readonly string[] ConversationOnly = [AuditLinks.ConversationIdName];

    // Sorted, as the members are.
    private static readonly string[] Both = [AuditLinks.ConversationIdName, AuditLinks.PromptSha256Name];

    private static AuditLinks LinksOf(AuthorizationDecision decision)
    {
        var caller = decision.CallerLinks;
        var evidence = decision.Token?.IntentEvidence;
        if (caller.IsEmpty && decision.GrantIndex is null && evidence is null)
        {
            return AuditLinks.None;
        }

        return new AuditLinks
        {
            PromptSha256 = caller.PromptSha256,
            ConversationId = caller.ConversationId,
            Grant = decision.GrantIndex,
            IntentEvidence = evidence,
            Claimed = Names(caller.PromptSha256 is not null, caller.ConversationId is not null),
            Malformed = Names(caller.PromptMalformed, caller.ConversationMalformed),
        };
    }

    private static string[] Names(bool prompt, bool conversation) =>
        (prompt, conversation) switch
        {
            (true, true) => Both,
            (true, false) => PromptOnly,
            (false, true) => ConversationOnly,
            _ => [],
        };

    /// <summary>The event for an admin API action.</summary>
    /// <param name="eventId">A fresh id (the admin response's <c>Gateway-Decision-Id</c>, if it has one).</param>
    /// <param name="action">What was done, e.g. <c>revocation.create</c>.</param>
    /// <param name="target">What it was done to, e.g. <c>jti:abc</c>; never a secret.</param>
    /// <param name="keyId">The admin key's <see cref="AuditAdmin.KeyId"/>; null when the request was not authenticated.</param>
    /// <param name="method">The admin request's method.</param>
    /// <param name="path">The admin request's path, without the query string.</param>
    /// <param name="status">The HTTP status the admin API answered.</param>
    /// <param name="policySha256">The policy load in force.</param>
    /// <param name="activity">The admin request's span, for <c>trace_id</c> and <c>span_id</c>.</param>
    /// <param name="time">When the action was taken.</param>
    public static AuditEvent ForAdmin(
        string eventId,
        string action,
        string? target,
        string? keyId,
        string method,
        string path,
        int status,
        string? policySha256,
        Activity? activity,
        DateTimeOffset time)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventId);
        ArgumentException.ThrowIfNullOrEmpty(action);
        var (traceId, spanId) = TraceIds(activity);
        return new AuditEvent
        {
            EventId = eventId,
            Time = time,
            Decision = AuditDecision.Admin,
            Request = new AuditRequest { Method = method, Path = path },
            Status = status,
            PolicySha256 = policySha256,
            TraceId = traceId,
            SpanId = spanId,
            Admin = new AuditAdmin { Action = action, Target = target, KeyId = keyId },
        };
    }

    // One token member per validated token, not per event: every call of a token writes the same claims,
    // and AuditEventSerializer keeps the member's canonical bytes with it. Only claims of the token
    // belong here; anything that can differ between two calls of one token goes elsewhere in the event.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Tokens.CapabilityToken, AuditToken> TokenMembers = [];

    private static AuditToken TokenOf(Tokens.CapabilityToken token) =>
        TokenMembers.GetValue(token, static token => new AuditToken
        {
            Jti = token.Jti,
            Issuer = token.Issuer,
            Subject = token.Subject,
            Agent = token.Agent,
            Chain = token.Chain,
            Intent = token.Intent,
            Grants = Grants(token),
            Acr = token.Acr,
            AuthTime = token.AuthTime,
            IssuedAt = token.IssuedAt,
            Expires = token.Expires,
        });

    private static AuditGrant[] Grants(Tokens.CapabilityToken token)
    {
        var grants = new AuditGrant[token.Grants.Count];
        for (var i = 0; i < grants.Length; i++)
        {
            var grant = token.Grants[i];
            grants[i] = new AuditGrant([.. grant.Actions.Select(a => a.Text)], [.. grant.Resources.Select(r => r.Text)]);
        }

        return grants;
    }

    private static (string? TraceId, string? SpanId) TraceIds(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C }
            ? (activity.TraceId.ToHexString(), activity.SpanId.ToHexString())
            : (null, null);
}
