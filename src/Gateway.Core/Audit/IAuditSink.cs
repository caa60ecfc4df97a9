namespace Gateway.Audit;

/// <summary>
/// Where chained audit events are stored. <see cref="AuditWriter"/> calls one sink at a time, from
/// one consumer, never concurrently.
/// </summary>
public interface IAuditSink
{
    /// <summary>A short name for metrics and logs (<c>file</c>, <c>redis</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The last event this sink holds of <paramref name="replica"/>'s chain, or null when it holds none;
    /// read once when the writer starts, so a restarted replica continues its chain.
    /// </summary>
    ValueTask<AuditChainHead?> ReadHeadAsync(string replica, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch, in order. On failure the writer calls again with the same batch, so this must be
    /// safe to repeat: records already stored by an earlier, failed attempt are not stored twice
    /// (their <see cref="AuditRecord.Seq"/> tells which they are).
    /// </summary>
    ValueTask WriteAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken);

    /// <summary>Makes everything written so far durable (the writer calls it when it stops).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
