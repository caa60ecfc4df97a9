using System.ComponentModel.DataAnnotations;

namespace Gateway.Redis.Audit;

/// <summary>Where and how <see cref="RedisStreamAuditSink"/> writes.</summary>
public sealed record RedisStreamAuditSinkOptions
{
    /// <summary>The stream's key (<c>audit.redis_stream</c>, e.g. <c>gateway:audit</c>). On Redis Cluster, a hash tag is kept for the head keys.</summary>
    [Required]
    public required string StreamKey { get; init; }

    /// <summary>
    /// Entries the stream keeps (<c>XADD MAXLEN ~</c>). Default 100,000: at about 1 KiB an event, some
    /// 100 MiB of Redis memory. The stream is a shared, recent window for several replicas; the files
    /// (or whatever consumes the stream) are the archive.
    /// </summary>
    [Range(1L, long.MaxValue)]
    public long MaxLength { get; init; } = 100_000;

    /// <summary>
    /// Trim to exactly <see cref="MaxLength"/> instead of approximately. Default false: approximate
    /// trimming drops whole internal nodes and is much cheaper; the stream may hold up to one node
    /// (100 entries by default) more.
    /// </summary>
    public bool ExactTrim { get; init; }

    /// <summary>
    /// How long a replica's head (its last seq and hash, kept beside the stream) outlives its last write.
    /// Default 30 days: a replica restarting within that continues its chain even without a file.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan HeadTtl { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
