namespace Gateway.Approvals;

/// <summary>
/// Approval records. One interface, an in-memory and a Redis implementation, and one contract test
/// class both must pass. Every state change is one atomic operation, so two replicas can never both
/// approve-and-deny, or both use, one approval.
/// </summary>
public interface IApprovalStore
{
    /// <summary>
    /// Stores <paramref name="record"/> as pending, unless a request for the same call
    /// (<see cref="ApprovalRecord.CallKey"/>) is still open, which is returned instead, or (sub, agent)
    /// already has <paramref name="maxOpen"/> unexpired requests.
    /// </summary>
    /// <exception cref="ApprovalStoreUnavailableException">The store could not be reached or did not answer in time.</exception>
    ValueTask<ApprovalCreateResult> CreateAsync(ApprovalRecord record, int maxOpen, CancellationToken cancellationToken);

    /// <summary>The record, or null when there is none (never was, or forgotten after expiry plus retention).</summary>
    ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> records still kept, newest first.</summary>
    ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(int limit, CancellationToken cancellationToken);

    /// <summary>pending → approved or denied, only before expiry.</summary>
    ValueTask<ApprovalTransition> DecideAsync(string id, ApprovalVerdict verdict, CancellationToken cancellationToken);

    /// <summary>approved → used, once, only before expiry; <paramref name="decisionId"/> is the call that uses it.</summary>
    ValueTask<ApprovalTransition> ConsumeAsync(ApprovalRecord record, string decisionId, CancellationToken cancellationToken);

    /// <summary>
    /// used → approved, only when <paramref name="decisionId"/> used it: the call was refused after all
    /// (a later check, a store outage), and a refused call must not spend a human's approval.
    /// </summary>
    ValueTask<bool> ReleaseAsync(ApprovalRecord record, string decisionId, CancellationToken cancellationToken);

    /// <summary>pending or approved → expired once past expiry; true only for the one caller that made the change.</summary>
    ValueTask<bool> ExpireAsync(string id, CancellationToken cancellationToken);
}

/// <summary>What a human decided, and who.</summary>
public sealed record ApprovalVerdict(bool Approve, string DecidedBy, string? DecidedBySubject, string? Note);

public enum ApprovalCreateOutcome
{
    Created,

    /// <summary>The same call already has an open request; <see cref="ApprovalCreateResult.Record"/> is that one.</summary>
    Existing,

    /// <summary>(sub, agent) has too many open requests; nothing was stored.</summary>
    TooManyOpen,
}

public sealed record ApprovalCreateResult(ApprovalCreateOutcome Outcome, ApprovalRecord? Record, TimeSpan? RetryAfter = null);

public enum ApprovalTransitionOutcome
{
    Done,
    NotFound,

    /// <summary>The record is not in the state the change starts from; <see cref="ApprovalTransition.State"/> says which it is in.</summary>
    WrongState,
    Expired,
}

public sealed record ApprovalTransition(ApprovalTransitionOutcome Outcome, ApprovalState? State);
