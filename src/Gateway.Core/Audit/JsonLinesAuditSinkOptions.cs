using System.ComponentModel.DataAnnotations;

namespace Gateway.Audit;

/// <summary>Where and how <see cref="JsonLinesAuditSink"/> writes.</summary>
public sealed record JsonLinesAuditSinkOptions
{
    /// <summary>The live file (<c>audit.file</c>, e.g. <c>audit/decisions.jsonl</c>); its folder is created when missing.</summary>
    [Required]
    public required string Path { get; init; }

    /// <summary>
    /// Size at which the live file is rotated. Default 64 MiB: big enough that rotation is rare, small
    /// enough that one file is quick to verify, ship or open.
    /// </summary>
    [Range(1L, long.MaxValue)]
    public long MaxFileBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>When written lines are <c>fsync</c>ed. Default <see cref="AuditFsyncPolicy.EveryBatch"/>.</summary>
    public AuditFsyncPolicy Fsync { get; init; } = AuditFsyncPolicy.EveryBatch;

    /// <summary>With <see cref="AuditFsyncPolicy.Interval"/>: the longest time written lines stay un-synced. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Permissions of files the sink creates (not Windows). Default 0640: the gateway writes, its group
    /// (a log shipper) reads, nobody else; the events name users and agents.
    /// </summary>
    public UnixFileMode FileMode { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
