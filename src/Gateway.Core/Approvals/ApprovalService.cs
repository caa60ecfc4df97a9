using Gateway.Budgets;
using Gateway.Policy;
using Microsoft.Extensions.Logging;

namespace Gateway.Approvals;

/// <summary>What the admin API does with approvals: read them, and approve or deny under the approver rules.</summary>
public sealed partial class ApprovalService
{
    /// <summary>Longest note or denial reason kept.</summary>
    public const int MaxNoteLength = 500;

    private readonly ApprovalFlow _flow;
    private readonly PolicyMonitor _policies;
    private readonly IBudgetStore? _budgets;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <param name="flow">The approval flow, whose store and event hook the admin side shares.</param>
    /// <param name="policies">The policy in force when a human decides: its approver rules apply.</param>
    /// <param name="budgets">Where the page reads what is left of the risk budget; null shows none.</param>
    /// <param name="time">The clock that decides expiry.</param>
    /// <param name="logger">Logs decisions (ids, key ids and routes only).</param>
    public ApprovalService(ApprovalFlow flow, PolicyMonitor policies, IBudgetStore? budgets, TimeProvider time, ILogger<ApprovalService> logger)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _flow = flow;
        _policies = policies;
        _budgets = budgets;
        _time = time;
        _logger = logger;
    }

    public TimeProvider Time => _time;

    public PolicySnapshot Policy => _policies.Current;

    /// <exception cref="ApprovalStoreUnavailableException">The store could not be reached.</exception>
    public async ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var record = await _flow.Store.GetAsync(id, cancellationToken);
        if (record is not null && record.State != ApprovalState.Expired && record.EffectiveState(_time.GetUtcNow()) == ApprovalState.Expired)
        {
            await _flow.ExpireAsync(record, cancellationToken);
        }

        return record;
    }

    /// <summary>The newest records, those in <paramref name="state"/> only when given.</summary>
    public async ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(ApprovalState? state, int limit, CancellationToken cancellationToken)
    {
        // Approvals are few (max_open per user and agent, a short ttl), so filtering after one bounded read is enough.
        var records = await _flow.Store.ListAsync(Math.Max(limit, 500), cancellationToken);
        var now = _time.GetUtcNow();
        return [.. records.Where(r => state is null || r.EffectiveState(now) == state).Take(limit)];
    }

    /// <summary>What (sub, agent) and the token have left now, for the page; null when the store cannot say.</summary>
    public async ValueTask<BudgetSnapshot?> BudgetAsync(ApprovalRecord record, CancellationToken cancellationToken)
    {
        if (_budgets is null)
        {
            return null;
        }

        try
        {
            return await _budgets.GetAsync(record.Subject, record.Agent, record.Jti, cancellationToken);
        }
        catch (BudgetStoreUnavailableException)
        {
            return null;
        }
    }

    /// <exception cref="ApprovalStoreUnavailableException">The store could not be reached.</exception>
    public async ValueTask<DecideResult> DecideAsync(string id, bool approve, string keyId, string? approverToken, string? note, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(keyId);
        var record = await GetAsync(id, cancellationToken);
        if (record is null)
        {
            return DecideResult.Fail(404, "approval_not_found", $"No approval {id} is known (an old one is forgotten after it expires).");
        }

        var now = _time.GetUtcNow();
        if (record.EffectiveState(now) is var state and not ApprovalState.Pending)
        {
            return DecideResult.Fail(409, state == ApprovalState.Expired ? "approval_expired" : "approval_not_pending",
                $"Approval {id} is {state.ToWord()}; only a pending approval can be approved or denied.", record);
        }

        var check = await ApproverRules.CheckAsync(record, approve, keyId, approverToken, _policies.Current, _time, cancellationToken);
        if (check.Error is not null)
        {
            LogRefusedApprover(_logger, id, keyId, check.Error);
            return DecideResult.Fail(403, check.Error, check.Detail!, record);
        }

        var verdict = new ApprovalVerdict(approve, keyId, check.ApproverSubject, note);
        var done = await _flow.Store.DecideAsync(id, verdict, cancellationToken);
        switch (done.Outcome)
        {
            case ApprovalTransitionOutcome.NotFound:
                return DecideResult.Fail(404, "approval_not_found", $"No approval {id} is known.");
            case ApprovalTransitionOutcome.Expired:
                await _flow.ExpireAsync(record, cancellationToken);
                return DecideResult.Fail(409, "approval_expired", $"Approval {id} expired before it was decided.", record);
            case ApprovalTransitionOutcome.WrongState:
                // Another approver (or replica) decided first; say what they decided.
                return DecideResult.Fail(409, "approval_not_pending", $"Approval {id} was already {done.State?.ToWord()}.", await GetAsync(id, cancellationToken) ?? record);
        }

        var decided = await GetAsync(id, cancellationToken) ?? record;
        var kind = approve ? ApprovalEventKind.Approved : ApprovalEventKind.Denied;
        LogDecided(_logger, id, approve ? "approved" : "denied", keyId, record.Route, record.TraceId);
        await _flow.PublishAsync(new ApprovalEvent(kind, decided, decided.DecidedAt ?? now, AdminKeyId: keyId, ApproverSubject: check.ApproverSubject), cancellationToken);
        return new DecideResult(200, null, null, decided);
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "Approval {ApprovalId} {Outcome} by admin key {KeyId} on route {Route} (requested in trace {TraceId})")]
    private static partial void LogDecided(ILogger logger, string approvalId, string outcome, string keyId, string route, string traceId);

    [LoggerMessage(EventId = 51, Level = LogLevel.Information, Message = "Approval {ApprovalId}: admin key {KeyId} refused as approver ({Error})")]
    private static partial void LogRefusedApprover(ILogger logger, string approvalId, string keyId, string error);
}

/// <summary>The admin API's answer to approve or deny: 200 with the record, or a problem.</summary>
public sealed record DecideResult(int Status, string? Error, string? Detail, ApprovalRecord? Record)
{
    public static DecideResult Fail(int status, string error, string detail, ApprovalRecord? record = null) => new(status, error, detail, record);
}
