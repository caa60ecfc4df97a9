using System.Runtime.CompilerServices;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.Budgets;

/// <summary>
/// Checks 9-11 of the decision: charges an otherwise allowed call to its step and risk budgets
/// in one store operation, and maps what the store says onto the decision.
/// </summary>
public sealed partial class BudgetCharger
{
    private static readonly TimeSpan DefaultStoreRetry = TimeSpan.FromSeconds(1);

    private readonly IBudgetStore _store;
    private readonly IBudgetStore _local;
    private readonly ILogger _logger;

    /// <param name="store">The shared store (Redis in production, wrapped in its resilience pipeline).</param>
    /// <param name="local">
    /// Where calls are counted while the shared store is unreachable and
    /// <c>on_store_failure: { allow_below_tier: ... }</c> lets low-tier calls go on: budgets still
    /// hold per replica, so an outage never turns into unlimited calls.
    /// </param>
    /// <param name="logger">Logs store outages (decision ids and routes only).</param>
    public BudgetCharger(IBudgetStore store, IBudgetStore local, ILogger<BudgetCharger> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _local = local;
        _logger = logger;
    }

    public IBudgetStore Store => _store;

    public ValueTask<AuthorizationDecision> ChargeAsync(AuthorizationDecision decision, CompiledRoute route, CapabilityToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(token);
        var charge = CreateCharge(route, token, decision.Approved);
        ValueTask<BudgetResult> pending;
        try
        {
            // Not cancelled when the client goes away: the charge may already be applied, its wait is
            // bounded by the store's own timeout, and an uncancellable token spares the store a linked
            // cancellation source per call.
            pending = _store.ChargeAsync(charge, CancellationToken.None);
        }
        catch (BudgetStoreUnavailableException ex)
        {
            return StoreUnavailable(decision, route, charge, ex, cancellationToken);
        }

        return pending.IsCompletedSuccessfully
            ? new(Apply(decision, route, pending.Result))
            : AwaitCharge(decision, route, charge, pending, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AuthorizationDecision> AwaitCharge(AuthorizationDecision decision, CompiledRoute route, BudgetCharge charge, ValueTask<BudgetResult> pending, CancellationToken cancellationToken)
    {
        try
        {
            return Apply(decision, route, await pending);
        }
        catch (BudgetStoreUnavailableException ex)
        {
            return await StoreUnavailable(decision, route, charge, ex, cancellationToken);
        }
    }

    private async ValueTask<AuthorizationDecision> StoreUnavailable(AuthorizationDecision decision, CompiledRoute route, BudgetCharge charge, BudgetStoreUnavailableException exception, CancellationToken cancellationToken)
    {
        var gateway = route.Snapshot.Policy.Gateway;
        if (gateway.OnStoreFailure == StoreFailureMode.AllowBelowTier && IsAtOrBelow(route, gateway.AllowBelowTier))
        {
            LogDegraded(_logger, decision.DecisionId, route.Id, exception.Message);
            decision.Degraded = true;
            return Apply(decision, route, await _local.ChargeAsync(charge, cancellationToken));
        }

        LogUnavailable(_logger, decision.DecisionId, route.Id, exception.Message);
        decision.RetryAfter = exception.RetryAfter is { } wait && wait > TimeSpan.Zero ? wait : DefaultStoreRetry;
        return AuthorizationEvaluator.Refuse(decision, route, GatewayError.PolicyStoreUnavailable,
            "The gateway cannot reach its budget store, so it cannot admit this call safely; retry shortly.", "store_unavailable");
    }

    private static AuthorizationDecision Apply(AuthorizationDecision decision, CompiledRoute route, BudgetResult result)
    {
        decision.StepsRemaining = result.StepsRemaining;
        decision.RiskRemaining = result.RiskRemaining;
        if (result.Outcome == BudgetOutcome.Allowed)
        {
            Telemetry.GatewayTelemetry.RecordBudgetCharge(route.Id);
        }
        else
        {
            Telemetry.GatewayTelemetry.RecordBudgetRefusal(route.Id, result.Outcome == BudgetOutcome.StepLimitExceeded ? "step_limit_exceeded" : "risk_budget");
        }

        switch (result.Outcome)
        {
            case BudgetOutcome.Allowed:
                return decision;
            case BudgetOutcome.StepLimitExceeded:
                var whose = result.ExhaustedJti is null || string.Equals(result.ExhaustedJti, decision.Token?.Jti, StringComparison.Ordinal)
                    ? "This token has used all of its steps"
                    : "A token this one was delegated from has used all of its steps";
                return AuthorizationEvaluator.Refuse(decision, route, GatewayError.StepLimitExceeded,
                    $"{whose}; ask the user for a new delegation.", "steps");
            case BudgetOutcome.RiskLimitExceeded:
                decision.RetryAfter = result.RetryAfter;
                var policy = route.Snapshot.Policy.Budgets;
                return policy.OnExceed == RiskExceedAction.Approval
                    ? AuthorizationEvaluator.Refuse(decision, route, GatewayError.ApprovalRequired,
                        $"This call's risk ({route.Risk}) exceeds what is left of the risk budget ({result.RiskRemaining} of {policy.RiskLimit}); a human must approve it.", "risk_budget")
                    : AuthorizationEvaluator.Refuse(decision, route, GatewayError.RiskBudgetExceeded,
                        $"This call's risk ({route.Risk}) exceeds what is left of the risk budget ({result.RiskRemaining} of {policy.RiskLimit}); it renews when the window rolls.", "risk_budget");
            default:
                throw new InvalidOperationException($"Unknown budget outcome {result.Outcome}.");
        }
    }

    private static BudgetCharge CreateCharge(CompiledRoute route, CapabilityToken token, bool approved)
    {
        var budgets = route.Snapshot.Policy.Budgets;
        return new BudgetCharge
        {
            Subject = token.Subject,
            Agent = token.Agent,
            Jti = token.Jti,
            MaxSteps = token.MaxSteps ?? budgets.DefaultSteps,
            TokenExpires = token.Expires,
            Ancestors = token.Chain,
            Risk = route.Risk,
            RiskLimit = budgets.RiskLimit,
            RiskWindow = budgets.RiskWindow,
            DefaultSteps = budgets.DefaultSteps,

            // A human who approved this very call saw its risk against the budget; with on_exceed: approval
            // that approval is what the limit asks for, so the call goes through and its risk still counts.
            BypassRiskLimit = approved && budgets.OnExceed == RiskExceedAction.Approval,
        };
    }

    private static bool IsAtOrBelow(CompiledRoute route, string? tier) =>
        tier is not null && route.Snapshot.Policy.Tiers.TryGetValue(tier, out var limit) && route.Tier.Rank <= limit.Rank;

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Decision {DecisionId}: budget store unavailable on route {Route}, refused with 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string decisionId, string route, string reason);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "Decision {DecisionId}: budget store unavailable on route {Route}; allowed by on_store_failure and counted locally: {Reason}")]
    private static partial void LogDegraded(ILogger logger, string decisionId, string route, string reason);
}
