namespace Gateway.Delegation;

/// <summary>
/// Why a delegation was refused: stable codes for <see cref="DelegationResult.Error"/>. Apart from
/// <see cref="InvalidRequest"/> (a malformed request), each names the rule the child would have broken.
/// </summary>
public static class DelegationErrors
{
    /// <summary>The request itself is malformed: no agent, no grant, a pattern that does not parse, a bad ttl or max_steps.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The parent token is revoked.</summary>
    public const string Revoked = "revoked";

    /// <summary>The child would act for another human (<c>sub</c>) than its parent.</summary>
    public const string SubjectChange = "subject_change";

    /// <summary>The child agent already appears in the parent's <c>act</c> chain (or the chain already repeats an agent).</summary>
    public const string Cycle = "cycle";

    /// <summary>The child's <c>act</c> nesting would exceed <c>gateway.max_delegation_depth</c>.</summary>
    public const string TooDeep = "too_deep";

    /// <summary>A requested action and resource are not both granted by one entry of the parent.</summary>
    public const string ScopeWidening = "scope_widening";

    /// <summary>The child would expire after its parent.</summary>
    public const string LifetimeWidening = "lifetime_widening";

    /// <summary>The child's lifetime exceeds <c>delegation.max_ttl</c>.</summary>
    public const string TtlTooLong = "ttl_too_long";

    /// <summary>The parent has expired; there is no lifetime left to delegate.</summary>
    public const string ParentExpired = "parent_expired";

    /// <summary>The child's <c>max_steps</c> exceeds what the parent (and its ancestors) have left.</summary>
    public const string StepsWidening = "steps_widening";
}
