using System.ComponentModel.DataAnnotations;

namespace Gateway.Revocation;

/// <summary>How <see cref="RevocationSynchronizer"/> keeps a replica's rules current.</summary>
public sealed record RevocationSyncOptions
{
    /// <summary>
    /// How often the store's version is checked, and the rules reloaded when it changed. Default 1 second: the
    /// longest a replica that lost an announcement (or was disconnected when it was sent) runs without the rule,
    /// which is the contract's bound for every replica. A version check is one small Redis read.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ResyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest one store call (version check, list, subscribe) may take before it counts as failed. Default 10
    /// seconds: listing 100,000 rules from Redis took about 3 seconds on a busy two-core test machine.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan StoreTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
