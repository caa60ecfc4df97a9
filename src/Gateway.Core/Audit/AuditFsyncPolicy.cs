namespace Gateway.Audit;

/// <summary>When <see cref="JsonLinesAuditSink"/> asks the OS to put written lines on disk (<c>fsync</c>).</summary>
/// <remarks>
/// Every batch is always flushed to the OS, so a crash of the gateway process alone loses nothing
/// already written. <c>fsync</c> decides what survives a power cut or kernel crash: see docs/audit.md.
/// </remarks>
public enum AuditFsyncPolicy
{
    /// <summary><c>every_batch</c> (default): after every batch; loses at most the batch being written.</summary>
    EveryBatch,

    /// <summary><c>interval</c>: at most every <see cref="JsonLinesAuditSinkOptions.FsyncInterval"/>; loses at most that much.</summary>
    Interval,

    /// <summary><c>never</c>: the OS decides (Linux writes back within about 30 s); cheapest, least durable.</summary>
    Never,
}
