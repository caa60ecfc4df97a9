namespace Gateway.Approvals;

/// <summary>
/// Where approval events go: requested, approved, denied, used, expired. The audit log plugs in here;
/// until it does, <see cref="NullApprovalEvents"/> drops them (the gateway also logs each one).
/// Called on the request or admin path after the change is stored: an implementation must return
/// quickly (queue the write) and should not throw; an exception is logged and otherwise ignored.
/// </summary>
public interface IApprovalEvents
{
    ValueTask OnApprovalEventAsync(ApprovalEvent approvalEvent, CancellationToken cancellationToken);
}

public enum ApprovalEventKind
{
    Requested,
    Approved,
    Denied,
    Used,
    Expired,
}

/// <summary>
/// One change to an approval. <see cref="ApprovalRecord.TraceId"/> and <see cref="ApprovalRecord.DecisionId"/>
/// tie it to the refused call that asked; <see cref="DecisionId"/> is the decision that caused this event
/// (the refusal for <c>Requested</c>, the admitted retry for <c>Used</c>), null for admin actions.
/// </summary>
public sealed record ApprovalEvent(
    ApprovalEventKind Kind,
    ApprovalRecord Record,
    DateTimeOffset Time,
    string? DecisionId = null,
    string? AdminKeyId = null,
    string? ApproverSubject = null);

public sealed class NullApprovalEvents : IApprovalEvents
{
    public static readonly NullApprovalEvents Instance = new();

    public ValueTask OnApprovalEventAsync(ApprovalEvent approvalEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
