using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Approvals;

/// <summary>
/// <c>gateway.approvals.requested</c>, <c>.approved</c>, <c>.denied</c>, <c>.used</c>, <c>.expired</c> (counters)
/// and <c>gateway.approvals.time_to_decision</c> (histogram, seconds), on the meter <c>Gateway</c>.
/// Expired approvals are counted when the gateway first sees one past its expiry (a retry, the admin API),
/// exactly once across replicas because that change is itself atomic.
/// </summary>
internal static class ApprovalMetrics
{
    // One meter per process: the gateway's own, so a listener subscribing to "Gateway" sees these too.
    private static readonly Meter Meter = Telemetry.GatewayTelemetry.Meter;
    private static readonly Counter<long> Requested = Meter.CreateCounter<long>("gateway.approvals.requested", description: "Approval requests created.");
    private static readonly Counter<long> Approved = Meter.CreateCounter<long>("gateway.approvals.approved", description: "Approval requests approved.");
    private static readonly Counter<long> Denied = Meter.CreateCounter<long>("gateway.approvals.denied", description: "Approval requests denied.");
    private static readonly Counter<long> Used = Meter.CreateCounter<long>("gateway.approvals.used", description: "Approved calls admitted.");
    private static readonly Counter<long> Expired = Meter.CreateCounter<long>("gateway.approvals.expired", description: "Approval requests that expired unused.");
    private static readonly Histogram<double> TimeToDecision = Meter.CreateHistogram<double>("gateway.approvals.time_to_decision", unit: "s", description: "Time from request to approval or denial.");

    public static void Record(ApprovalEventKind kind, ApprovalRecord record, DateTimeOffset now)
    {
        var tags = new TagList { { "gateway.route", record.Route }, { "gateway.approval.reason", record.Reason.ToWord() } };
        switch (kind)
        {
            case ApprovalEventKind.Requested:
                Requested.Add(1, tags);
                break;
            case ApprovalEventKind.Approved:
                Approved.Add(1, tags);
                TimeToDecision.Record((now - record.CreatedAt).TotalSeconds, tags);
                break;
            case ApprovalEventKind.Denied:
                Denied.Add(1, tags);
                TimeToDecision.Record((now - record.CreatedAt).TotalSeconds, tags);
                break;
            case ApprovalEventKind.Used:
                Used.Add(1, tags);
                break;
            case ApprovalEventKind.Expired:
                Expired.Add(1, tags);
                break;
        }
    }
}
