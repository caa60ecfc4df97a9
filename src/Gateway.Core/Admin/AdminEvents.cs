using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Admin;

/// <summary>
/// Records every admin action: who (the admin key's short id, or the agent for a self-service
/// delegation), what, and on which target. Ids only, never keys or tokens.
/// </summary>
public sealed partial class AdminEvents
{
    private readonly ILogger _logger;

    public AdminEvents(ILogger<AdminEvents> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <summary>Raised for each admin action, for the audit trail.</summary>
    public event Action<AdminAction>? Recorded;

    public void Revoked(HttpContext context, RevocationRule rule)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        var caller = Caller(context);
        var kind = RevocationKinds.ToName(rule.Kind);
        LogRevoked(_logger, caller, rule.Id, kind, rule.ExpiresAt);
        Recorded?.Invoke(new AdminAction("revoke", $"{kind}:{rule.Value}", caller, context));
    }

    public void Delegated(HttpContext context, CapabilityToken parent, string childAgent, string childJti)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(parent);
        var caller = Caller(context) ?? parent.Agent;
        LogDelegated(_logger, caller, parent.Jti, childAgent, childJti);
        Recorded?.Invoke(new AdminAction("delegate", $"jti:{childJti}", caller, context) { Token = parent });
    }

    public void Record(HttpContext context, string action, string target)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = Caller(context);
        LogAction(_logger, caller, action, target);
        Recorded?.Invoke(new AdminAction(action, target, caller, context));
    }

    private static string? Caller(HttpContext context) => context.Features.Get<AdminEndpoints.AdminCaller>()?.KeyId;

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Admin {KeyId}: revocation {RuleId} by {Kind}, enforced until {ExpiresAt:O}")]
    private static partial void LogRevoked(ILogger logger, string? keyId, string ruleId, string kind, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "Delegation by {Caller}: parent jti {ParentJti} -> agent {ChildAgent}, child jti {ChildJti}")]
    private static partial void LogDelegated(ILogger logger, string caller, string parentJti, string childAgent, string childJti);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "Admin {KeyId}: {Action} {Target}")]
    private static partial void LogAction(ILogger logger, string? keyId, string action, string target);
}

/// <summary>One admin action, as the audit trail records it.</summary>
public sealed record AdminAction(string Action, string Target, string? KeyId, HttpContext Context)
{
    /// <summary>The token acted on, when there is one (the parent of a delegation).</summary>
    public CapabilityToken? Token { get; init; }
}
