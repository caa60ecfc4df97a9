using System.ComponentModel.DataAnnotations;

namespace Gateway.Tokens;

/// <summary>Tuning for <see cref="CapabilityTokenValidator"/>; the token rules themselves come from the policy.</summary>
public sealed record TokenValidatorOptions
{
    /// <summary>Validated tokens kept in memory (each until its <c>exp</c>). Default 10,000; 0 turns the cache off.</summary>
    [Range(0, 10_000_000)]
    public int CacheSize { get; init; } = 10_000;
}
