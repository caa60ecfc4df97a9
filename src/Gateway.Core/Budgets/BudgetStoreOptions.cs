using System.ComponentModel.DataAnnotations;

namespace Gateway.Budgets;

/// <summary>How budget stores keep accounts and how <see cref="ResilientBudgetStore"/> guards the hot path.</summary>
public sealed record BudgetStoreOptions
{
    /// <summary>
    /// Longest a store call may take before the call is refused as unavailable. Default 250 ms: a charge
    /// is on every request's path, and a healthy Redis answers in well under a millisecond.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Share of failed calls in <see cref="SamplingDuration"/> that opens the circuit. Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Calls needed in <see cref="SamplingDuration"/> before the circuit may open. Default 10.</summary>
    [Range(2, int.MaxValue)]
    public int MinimumThroughput { get; init; } = 10;

    /// <summary>Window over which failures are counted. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an open circuit refuses calls without trying the store. Default 2 seconds: short, so the
    /// gateway recovers quickly by itself once the store is back.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a step account outlives its token's <c>exp</c>. Default 5 minutes. It must be at least
    /// <c>gateway.clock_skew</c>: a token is still accepted that long after <c>exp</c>, and an account
    /// that vanished first would hand it a fresh budget.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ExpiryGrace { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>In-memory store only: how often a charge also sweeps out expired accounts. Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Redis store only: prefix of every key. Default <c>gw:</c>.</summary>
    [Required]
    public string KeyPrefix { get; init; } = "gw:";

    /// <summary>
    /// Redis store only: charges that arrive while a charge is on its way to Redis go out together in
    /// the next script call (one round trip, one script run for many charges). Default on; off sends one
    /// call per charge. Either way each charge is atomic and applied exactly once.
    /// </summary>
    public bool CoalesceCharges { get; init; } = true;

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
