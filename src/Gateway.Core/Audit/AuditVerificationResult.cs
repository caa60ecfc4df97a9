using System.Globalization;

namespace Gateway.Audit;

/// <summary>The outcome of <see cref="AuditVerifier"/>: intact, or the first line where a chain breaks and why.</summary>
public sealed record AuditVerificationResult
{
    public bool IsValid => Break is null;

    /// <summary>Why the chain broke; null when intact.</summary>
    public AuditBreak? Break { get; init; }

    /// <summary>The file (or source name) of the first bad line.</summary>
    public string? File { get; init; }

    /// <summary>The first bad line, 1-based within <see cref="File"/>; 0 when intact.</summary>
    public long Line { get; init; }

    /// <summary>What exactly is wrong, for a person.</summary>
    public string? Detail { get; init; }

    /// <summary>Events that verified (before the break, if any).</summary>
    public long Events { get; init; }

    /// <summary>Every replica's chain as far as it verified, ordered by replica.</summary>
    public IReadOnlyList<AuditChainSummary> Chains { get; init; } = [];

    /// <summary><c>FILE:LINE: reason: detail</c>, or a one-line summary when intact.</summary>
    public override string ToString() => IsValid
        ? string.Create(CultureInfo.InvariantCulture, $"ok: {Events} events in {Chains.Count} chain(s)")
        : string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}: {Describe(Break!.Value)}: {Detail}");

    private static string Describe(AuditBreak reason) => reason switch
    {
        AuditBreak.Unparsable => "unparsable line",
        AuditBreak.HashMismatch => "hash mismatch",
        AuditBreak.PrevHashBreak => "prev_hash break",
        AuditBreak.SeqGap => "seq gap",
        AuditBreak.Reordered => "reordered",
        _ => reason.ToString(),
    };
}
