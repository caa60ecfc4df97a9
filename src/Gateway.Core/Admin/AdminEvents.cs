using System.Diagnostics;
using Gateway.Audit;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Admin;

/// <summary>
/// Records every admin action in the log and the audit trail: who (the admin key's short id, or
/// the agent for a self-service delegation), what, and on which target. Ids only, never keys or
/// tokens.
/// </summary>
public sealed partial class AdminEvents
{
    private readonly ILogger _logger;
    private readonly AuditWriter? _audit;
    private readonly PolicyMonitor _policies;
    private readonly TimeProvider _time;

    public AdminEvents(ILogger<AdminEvents> logger, AuditWriter? audit, PolicyMonitor policies, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(time);
        _logger = logger;
        _audit = audit;
        _policies = policies;
        _time = time;
    }

    public ValueTask RevokedAsync(HttpContext context, RevocationRule rule)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        var caller = Caller(context);
        var kind = RevocationKinds.ToName(rule.Kind);
        LogRevoked(_logger, caller, rule.Id, kind, rule.ExpiresAt);
        return AuditAsync(context, "revocation.create", $"{kind}:{rule.Value}", caller, StatusCodes.Status201Created);
    }

    public ValueTask DelegatedAsync(HttpContext context, CapabilityToken parent, string childAgent, string childJti)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(parent);
        var caller = Caller(context) ?? parent.Agent;
        LogDelegated(_logger, caller, parent.Jti, childAgent, childJti);
        return AuditAsync(context, "delegation.create", $"parent:{parent.Jti} child:{childJti} agent:{childAgent}", caller, StatusCodes.Status200OK);
    }

    /// <summary>A security event token received at <c>POST /signals/events</c>: <paramref name="target"/> names it by <c>jti</c>, or the <c>err</c> it was refused with; never the SET itself.</summary>
    public ValueTask SignalAsync(HttpContext context, string action, string target, int status)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = Caller(context);
        LogAction(_logger, caller, action, target);
        return AuditAsync(context, action, target, caller, status);
    }

    /// <summary>An approval's life (requested, approved, denied, used, expired), tied to the trace of the decision that asked for it.</summary>
    public ValueTask ApprovalAsync(string action, string approvalId, string? keyId, string traceId, DateTimeOffset time)
    {
        LogAction(_logger, keyId, action, approvalId);
        if (_audit is null)
        {
            return ValueTask.CompletedTask;
        }

        var auditEvent = AuditEvents.ForAdmin(DecisionIds.Next(), action, $"approval:{approvalId}", keyId, "POST", $"/approvals/{approvalId}", StatusCodes.Status200OK, _policies.Current.Sha256, null, time)
            with
        { TraceId = traceId };
        return _audit.WriteAsync(auditEvent, CancellationToken.None);
    }

    private ValueTask AuditAsync(HttpContext context, string action, string target, string? keyId, int status)
    {
        if (_audit is null)
        {
            return ValueTask.CompletedTask;
        }

        var auditEvent = AuditEvents.ForAdmin(DecisionIds.Next(), action, target, keyId, context.Request.Method, context.Request.Path.Value ?? "/", status, _policies.Current.Sha256, Activity.Current, _time.GetUtcNow());
        return _audit.WriteAsync(auditEvent, CancellationToken.None);
    }

    private static string? Caller(HttpContext context) => context.Features.Get<AdminEndpoints.AdminCaller>()?.KeyId;

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "Admin {KeyId}: revocation {RuleId} by {Kind}, enforced until {ExpiresAt:O}")]
    private static partial void LogRevoked(ILogger logger, string? keyId, string ruleId, string kind, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 61, Level = LogLevel.Information, Message = "Delegation by {Caller}: parent jti {ParentJti} -> agent {ChildAgent}, child jti {ChildJti}")]
    private static partial void LogDelegated(ILogger logger, string caller, string parentJti, string childAgent, string childJti);

    [LoggerMessage(EventId = 62, Level = LogLevel.Information, Message = "Admin {KeyId}: {Action} {Target}")]
    private static partial void LogAction(ILogger logger, string? keyId, string action, string target);
}

/// <summary>Sends the approval flow's events to the audit trail.</summary>
public sealed class AuditedApprovalEvents(AdminEvents events) : Approvals.IApprovalEvents
{
    public ValueTask OnApprovalEventAsync(Approvals.ApprovalEvent approvalEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(approvalEvent);
        var action = "approval." + approvalEvent.Kind.ToString().ToLowerInvariant();
        return events.ApprovalAsync(action, approvalEvent.Record.Id, approvalEvent.AdminKeyId, approvalEvent.Record.TraceId, approvalEvent.Time);
    }
}
