namespace Gateway.Audit;

/// <summary>
/// An event as sinks receive it: chained, serialized, ready to store. <see cref="Utf8Json"/> is the
/// event's canonical JSON (no trailing newline); it points into the writer's batch buffer and is valid
/// only until the sink's <see cref="IAuditSink.WriteAsync"/> returns.
/// </summary>
public readonly record struct AuditRecord(string Replica, long Seq, string Hash, ReadOnlyMemory<byte> Utf8Json);
