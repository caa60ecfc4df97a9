namespace Gateway.Audit;

/// <summary>
/// The <c>links</c> member of every decision event: what ties a call to the prompt and conversation that caused it
/// and to the grant that allowed it.
/// </summary>
/// <remarks>
/// <see cref="PromptSha256"/> and <see cref="ConversationId"/> are the caller's claims: checked for shape only, recorded as
/// sent, never used for a decision. <see cref="Grant"/> is the gateway's own finding; <see cref="IntentEvidence"/> comes
/// from the validated token. <see cref="Claimed"/> names which members hold caller claims, so an event says so itself.
/// </remarks>
public sealed record AuditLinks
{
    /// <summary>The member names of the caller's claims.</summary>
    public const string PromptSha256Name = "prompt_sha256";

    /// <inheritdoc cref="PromptSha256Name"/>
    public const string ConversationIdName = "conversation_id";

    /// <summary>The links of an event with no claim sent, no grant and no evidence.</summary>
    public static AuditLinks None { get; } = new();

    /// <summary><c>prompt_sha256</c>: header <c>Gateway-Prompt-Sha256</c>, 64 lowercase hex digits; null when absent or malformed.</summary>
    public string? PromptSha256 { get; init; }

    /// <summary><c>conversation_id</c>: W3C baggage member <c>gen_ai.conversation.id</c>; null when absent or malformed.</summary>
    public string? ConversationId { get; init; }

    /// <summary><c>grant</c>: the index in the token's <c>authorization_details</c> of the entry that allowed the call; null when none did.</summary>
    public int? Grant { get; init; }

    /// <summary><c>intent_evidence</c>: the token's <c>cap.intent.evidence</c> (<c>sha256:HEX</c>), the approval the delegation rests on; null when absent.</summary>
    public string? IntentEvidence { get; init; }

    /// <summary><c>claimed</c>: the names of the members above that hold a caller's claim (sorted); empty when the caller claimed nothing.</summary>
    public IReadOnlyList<string> Claimed { get; init; } = [];

    /// <summary><c>malformed</c>: the names of the claims the caller sent in a shape not accepted (recorded as null; sorted).</summary>
    public IReadOnlyList<string> Malformed { get; init; } = [];
}
