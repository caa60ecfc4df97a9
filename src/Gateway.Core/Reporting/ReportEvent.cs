using Gateway.Audit;

namespace Gateway.Reporting;

/// <summary>
/// The members of one audit line a report counts, read without building an <see cref="AuditEvent"/>:
/// a million-line log must be summarised in seconds. One instance is reused for every line of a reader.
/// </summary>
internal sealed class ReportEvent
{
    public DateTimeOffset Time;
    public AuditDecision Decision;
    public string? Error;
    public string? Reason;
    public string? Route;
    public string? Action;
    public string? Resource;
    public int Risk;
    public string? Subject;
    public string? Agent;
    public string? Jti;
    public string? TraceId;
    public string? AdminAction;
    public string? AdminTarget;

    /// <summary>The token's <c>grants</c> array exactly as written; tokens of one issuer repeat it verbatim, so it is parsed once per distinct text.</summary>
    public ReadOnlyMemory<byte> GrantsJson;

    public void Clear()
    {
        Time = default;
        Decision = default;
        Error = Reason = Route = Action = Resource = Subject = Agent = Jti = TraceId = AdminAction = AdminTarget = null;
        Risk = 0;
        GrantsJson = default;
    }
}
