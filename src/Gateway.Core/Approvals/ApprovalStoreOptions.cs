using System.ComponentModel.DataAnnotations;

namespace Gateway.Approvals;

/// <summary>How approval stores keep records.</summary>
public sealed record ApprovalStoreOptions
{
    /// <summary>
    /// How long a record is kept after it expires. Default 1 hour: long enough that an approver who
    /// opens a link late sees "expired" (and who decided what) rather than "not found".
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Redis store only: longest a call may take before the store counts as unavailable. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>In-memory store only: how often a write also sweeps out forgotten records. Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Redis store only: prefix of every key. Default <c>gw:</c>, shared with the budget keys.</summary>
    [Required]
    public string KeyPrefix { get; init; } = "gw:";

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
