using System.ComponentModel.DataAnnotations;

namespace Gateway.Audit;

/// <summary>How <see cref="AuditWriter"/> queues, batches and retries.</summary>
public sealed record AuditWriterOptions
{
    /// <summary>
    /// Events the queue holds before <see cref="AuditWriter.WriteAsync"/> waits for room. Default 10,000:
    /// at about 1 KiB an event, 10 MiB at most, and several seconds of traffic to ride out a slow sink.
    /// </summary>
    [Range(1, 10_000_000)]
    public int Capacity { get; init; } = 10_000;

    /// <summary>
    /// Most events written to the sinks in one go. Default 512: one fsync or one Redis round trip covers
    /// up to this many events, so a busy gateway pays for durability once per batch, not per event.
    /// </summary>
    [Range(1, 65_536)]
    public int BatchSize { get; init; } = 512;

    /// <summary>
    /// How long the writer waits, once an event arrives, for more to join its batch before writing (group
    /// commit). Default 10 ms. Without it a lightly loaded gateway writes, flushes and fsyncs every event on
    /// its own: one fsync per request, on the same CPUs as the requests. Events are only ever this much
    /// later on disk; no request waits for it. Zero writes whatever is queued at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan BatchDelay { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The replica's id, written in every event; each replica keeps its own chain under it. Default the
    /// machine name (in Kubernetes, the pod name). Must be unique among replicas writing to one place,
    /// and stable across restarts for a restarted replica to continue its chain.
    /// </summary>
    [Required]
    [StringLength(128, MinimumLength = 1)]
    public string Replica { get; init; } = Environment.MachineName;

    /// <summary>First wait before retrying a failed sink write. Default 100 ms; doubles up to <see cref="RetryMaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between retries of a failing sink. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long <see cref="AuditWriter.DisposeAsync"/> waits for the queue to drain when the writer was not
    /// stopped first. Default 30 seconds. <see cref="AuditWriter.StopAsync"/> waits as long as its token allows.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DisposeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        foreach (var c in Replica)
        {
            if (char.IsControl(c))
            {
                throw new ValidationException("The replica id may not contain control characters.");
            }
        }

        if (RetryMaxDelay < RetryBaseDelay)
        {
            throw new ValidationException("RetryMaxDelay must be at least RetryBaseDelay.");
        }
    }
}
