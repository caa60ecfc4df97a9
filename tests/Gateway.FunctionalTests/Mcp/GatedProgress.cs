using System.Collections.Concurrent;
using Gateway.Host.Demo;
using ModelContextProtocol;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// Proves streaming without timing: <c>export_queue</c> does not go on after a progress step
/// until the client has received that step, and returns its result only after the last one.
/// A proxy that buffered the SSE response would hold the first step back until the call ended,
/// and the call would never end (the test times out).
/// </summary>
public sealed class GatedProgress : IProgress<ProgressNotificationValue>
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _arrived = new();

    /// <summary>What reached the client, in arrival order (the SDK's client may report concurrent notifications out of order).</summary>
    public ConcurrentQueue<ProgressNotificationValue> Received { get; } = new();

    internal SupportDesk Desk() => new()
    {
        AfterExportStep = (step, _, cancellationToken) => Arrival(step).Task.WaitAsync(cancellationToken),
    };

    public void Report(ProgressNotificationValue value)
    {
        Received.Enqueue(value);
        Arrival((int)value.Progress).TrySetResult();
    }

    /// <summary>The steps received, in step order.</summary>
    public IReadOnlyList<double> Steps => [.. Received.Select(p => (double)p.Progress).Order()];

    private TaskCompletionSource Arrival(int step) => _arrived.GetOrAdd(step, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
}
