namespace Gateway.Audit;

/// <summary>How strict <see cref="AuditVerifier"/> is about where chains begin.</summary>
public sealed record AuditVerifierOptions
{
    /// <summary>
    /// Every replica's chain must begin at seq 1 with <c>prev_hash</c> = 64 zeros. Default true, so a
    /// deleted first line, or a first file left out, is caught. Set false to verify a window of a chain
    /// (after old files were deleted by retention, or a bounded Redis stream): each chain is then
    /// anchored at its first line as given, which the caller should check against a head recorded
    /// elsewhere.
    /// </summary>
    public bool RequireChainStart { get; init; } = true;
}
