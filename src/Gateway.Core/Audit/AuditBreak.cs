namespace Gateway.Audit;

/// <summary>Why <see cref="AuditVerifier"/> found a chain broken.</summary>
public enum AuditBreak
{
    /// <summary>The line is not a JSON object with the chain members (a torn or foreign line, or a number or string JCS cannot carry).</summary>
    Unparsable,

    /// <summary>The line's content does not hash to its <c>hash</c>: it was edited.</summary>
    HashMismatch,

    /// <summary>The line's <c>prev_hash</c> is not the previous event's <c>hash</c> in its replica's chain.</summary>
    PrevHashBreak,

    /// <summary>Events are missing before this line (deleted, or earlier files not given).</summary>
    SeqGap,

    /// <summary>The line is out of order: its seq is not the next one, and the missing one comes later or came before.</summary>
    Reordered,
}
