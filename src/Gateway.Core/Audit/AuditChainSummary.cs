namespace Gateway.Audit;

/// <summary>One replica's chain as far as it verified: which events it covers and its head hash (to anchor elsewhere).</summary>
public sealed record AuditChainSummary(string Replica, long FirstSeq, long LastSeq, string LastHash, long Events);
