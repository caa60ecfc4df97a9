namespace Gateway.Audit;

/// <summary>The last event a sink holds of one replica's chain: where the chain goes on from.</summary>
public sealed record AuditChainHead(string Replica, long Seq, string Hash);
