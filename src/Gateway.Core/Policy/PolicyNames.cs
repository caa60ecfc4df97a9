namespace Gateway.Policy;

/// <summary>The words the policy file accepts, in one place so that parsing, suggestions and docs agree.</summary>
internal static class PolicyNames
{
    /// <summary>Sections that may appear in only one file of a folder.</summary>
    public static readonly string[] SingleSections = ["gateway", "admin", "delegation", "signals", "status_list_cache", "budgets", "approvals", "audit", "telemetry"];

    /// <summary>Sections whose entries merge across the files of a folder.</summary>
    public static readonly string[] MergedSections = ["issuers", "tiers", "upstreams", "routes"];

    public static readonly string[] AllSections = [.. SingleSections, .. MergedSections];

    public static readonly string[] SupportedAlgorithms = ["ES256", "EdDSA", "Ed25519", "RS256", "PS256"];

    public static readonly IReadOnlyDictionary<string, IntentMethod> Intents = new Dictionary<string, IntentMethod>(StringComparer.Ordinal)
    {
        ["policy"] = IntentMethod.Policy,
        ["explicit"] = IntentMethod.Explicit,
        ["step_up"] = IntentMethod.StepUp,
    };

    public static readonly IReadOnlyDictionary<string, ApprovalRequirement> Approvals = new Dictionary<string, ApprovalRequirement>(StringComparer.Ordinal)
    {
        ["none"] = ApprovalRequirement.None,
        ["required"] = ApprovalRequirement.Required,
    };

    public static readonly IReadOnlyDictionary<string, EnforcementMode> Modes = new Dictionary<string, EnforcementMode>(StringComparer.Ordinal)
    {
        ["enforce"] = EnforcementMode.Enforce,
        ["shadow"] = EnforcementMode.Shadow,
    };

    public static readonly IReadOnlyDictionary<string, SenderConstraint> SenderConstraints = new Dictionary<string, SenderConstraint>(StringComparer.Ordinal)
    {
        ["optional"] = SenderConstraint.Optional,
        ["required"] = SenderConstraint.Required,
    };

    public static readonly IReadOnlyDictionary<string, StoreKind> Stores = new Dictionary<string, StoreKind>(StringComparer.Ordinal)
    {
        ["memory"] = StoreKind.Memory,
        ["redis"] = StoreKind.Redis,
    };

    public static readonly IReadOnlyDictionary<string, RiskExceedAction> ExceedActions = new Dictionary<string, RiskExceedAction>(StringComparer.Ordinal)
    {
        ["approval"] = RiskExceedAction.Approval,
        ["deny"] = RiskExceedAction.Deny,
    };

    public static readonly IReadOnlyDictionary<string, Audit.AuditFsyncPolicy> FsyncPolicies = new Dictionary<string, Audit.AuditFsyncPolicy>(StringComparer.Ordinal)
    {
        ["every_batch"] = Audit.AuditFsyncPolicy.EveryBatch,
        ["interval"] = Audit.AuditFsyncPolicy.Interval,
        ["never"] = Audit.AuditFsyncPolicy.Never,
    };

    public static readonly IReadOnlyDictionary<string, ApprovalBinding> Bindings = new Dictionary<string, ApprovalBinding>(StringComparer.Ordinal)
    {
        ["token"] = ApprovalBinding.Token,
        ["subject_agent"] = ApprovalBinding.SubjectAgent,
    };

    /// <summary>Who may approve: holders of an admin key, or the token's own subject; a policy may add named groups of admin keys.</summary>
    public static readonly string[] Approvers = ["admin", "subject"];
}
