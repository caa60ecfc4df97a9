namespace Gateway.Policy;

/// <summary>
/// One loaded, validated route-policy document (a file or a folder of files merged).
/// Immutable: a reload builds a new instance and swaps it in whole.
/// </summary>
public sealed record GatewayPolicy
{
    public required GatewaySettings Gateway { get; init; }
    public AdminSettings Admin { get; init; } = new();
    public IReadOnlyList<IssuerSettings> Issuers { get; init; } = [];
    public IReadOnlyDictionary<string, TierSettings> Tiers { get; init; } = new Dictionary<string, TierSettings>(StringComparer.Ordinal);
    public BudgetSettings Budgets { get; init; } = new();
    public ApprovalSettings Approvals { get; init; } = new();
    public AuditSettings Audit { get; init; } = new();
    public TelemetrySettings Telemetry { get; init; } = new();
    public IReadOnlyDictionary<string, UpstreamSettings> Upstreams { get; init; } = new Dictionary<string, UpstreamSettings>(StringComparer.Ordinal);
    public IReadOnlyList<RoutePolicy> Routes { get; init; } = [];

    /// <summary>Lowercase hex SHA-256 over the source files (sorted by name), for audit events.</summary>
    public string Sha256 { get; init; } = "";

    /// <summary>The files this policy was read from, absolute, sorted.</summary>
    public IReadOnlyList<string> SourceFiles { get; init; } = [];
}

public enum EnforcementMode
{
    Enforce,
    Shadow,
}

public enum SenderConstraint
{
    Optional,
    Required,
}

public enum StoreKind
{
    Memory,
    Redis,
}

public enum StoreFailureMode
{
    /// <summary>Every call is refused with 503 while the store is unreachable.</summary>
    Deny,

    /// <summary>Calls on routes whose tier is at or below <see cref="GatewaySettings.AllowBelowTier"/> go on, counted locally.</summary>
    AllowBelowTier,
}

/// <summary>Ordered: policy &lt; explicit &lt; step_up.</summary>
public enum IntentMethod
{
    Policy = 0,
    Explicit = 1,
    StepUp = 2,
}

public enum ApprovalRequirement
{
    None,
    Required,
}

public enum RiskExceedAction
{
    Approval,
    Deny,
}

public sealed record GatewaySettings
{
    public required string Audience { get; init; }

    /// <summary>Longest accepted <c>exp - iat</c>. Default 1 hour.</summary>
    public TimeSpan MaxTokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Clock skew allowed on <c>exp</c>, <c>nbf</c> and <c>iat</c>. Default 30 seconds.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Hops of <c>act</c> nesting allowed. Default 3.</summary>
    public int MaxDelegationDepth { get; init; } = 3;

    public SenderConstraint SenderConstraint { get; init; } = SenderConstraint.Optional;

    /// <summary>
    /// Largest request body accepted, in bytes. Default 10 MiB. A larger declared <c>Content-Length</c> is refused with
    /// 413 before the token is read; a chunked body is read (buffered, spilling to disk past 30 KiB) up to this size
    /// before the call is evaluated, so a body that turns out too large is refused before anything is forwarded.
    /// </summary>
    public int MaxRequestBodyBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>How DPoP proofs are checked (<c>gateway.dpop</c>).</summary>
    public DpopSettings Dpop { get; init; } = new();
    public StoreKind Store { get; init; } = StoreKind.Memory;

    /// <summary>StackExchange.Redis configuration string. Default <c>localhost:6379</c>.</summary>
    public string Redis { get; init; } = "localhost:6379";

    public StoreFailureMode OnStoreFailure { get; init; } = StoreFailureMode.Deny;

    /// <summary>With <see cref="StoreFailureMode.AllowBelowTier"/>: the highest tier that may go on (the YAML <c>allow_below_tier: low</c>).</summary>
    public string? AllowBelowTier { get; init; }

    public EnforcementMode Mode { get; init; } = EnforcementMode.Enforce;
}

public sealed record AdminSettings
{
    /// <summary>Admin listener URLs. Default <c>http://127.0.0.1:9901</c>.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:9901"];

    /// <summary>Lowercase hex SHA-256 digests of accepted admin bearer keys.</summary>
    public IReadOnlyList<string> KeySha256 { get; init; } = [];
}

public sealed record IssuerSettings
{
    public required string Issuer { get; init; }

    /// <summary>Absolute path (resolved against the policy file's folder), or null.</summary>
    public string? JwksFile { get; init; }

    public Uri? JwksUri { get; init; }

    /// <summary>Allowed JWS algorithms; a subset of ES256, EdDSA, RS256, PS256.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = ["ES256"];

    /// <summary>Accepted <c>typ</c> header values. Default <c>at+jwt</c>.</summary>
    public IReadOnlyList<string> Types { get; init; } = ["at+jwt"];
}

public sealed record TierSettings
{
    public required string Name { get; init; }

    /// <summary>Position in the policy's tier list (0 = lowest); tiers are ordered as written.</summary>
    public int Rank { get; init; }

    public int Risk { get; init; }
    public IntentMethod MinIntent { get; init; } = IntentMethod.Policy;
    public ApprovalRequirement Approval { get; init; } = ApprovalRequirement.None;
}

public sealed record BudgetSettings
{
    /// <summary>Steps a token may take when it carries no <c>cap.max_steps</c>. Default 50.</summary>
    public int DefaultSteps { get; init; } = 50;

    /// <summary>Risk points per (sub, agent) per window. Default 100.</summary>
    public int RiskLimit { get; init; } = 100;

    /// <summary>Risk window. Default 24 hours.</summary>
    public TimeSpan RiskWindow { get; init; } = TimeSpan.FromHours(24);

    public RiskExceedAction OnExceed { get; init; } = RiskExceedAction.Approval;
}

public sealed record ApprovalSettings
{
    /// <summary>An approval unused by then expires. Default 15 minutes.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromMinutes(15);

    public IReadOnlyList<string> Approvers { get; init; } = ["admin"];
}

public sealed record AuditSettings
{
    /// <summary>Absolute path of the JSON Lines file, or null for none.</summary>
    public string? File { get; init; }

    public string? RedisStream { get; init; }
}

public sealed record TelemetrySettings
{
    public bool RawSubject { get; init; }
}

public sealed record UpstreamSettings
{
    public required string Name { get; init; }
    public IReadOnlyList<Uri> Destinations { get; init; } = [];
}

public sealed record StepUpSettings
{
    public IReadOnlyList<string> Acr { get; init; } = [];
    public TimeSpan? MaxAge { get; init; }
}

public sealed record RoutePolicy
{
    public required string Id { get; init; }
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>An ASP.NET Core route template.</summary>
    public required string Path { get; init; }

    public required string Upstream { get; init; }
    public required string Action { get; init; }

    /// <summary>Resource template: <c>{routeValue}</c>, <c>{query.NAME}</c>, <c>{header.NAME}</c>.</summary>
    public required string Resource { get; init; }

    public required string Tier { get; init; }

    /// <summary>Overrides the tier's risk when set.</summary>
    public int? Risk { get; init; }

    public IntentMethod? MinIntent { get; init; }
    public ApprovalRequirement? Approval { get; init; }
    public EnforcementMode? Mode { get; init; }
    public StepUpSettings? StepUp { get; init; }

    /// <summary>Optional plain-language template for approval pages ("Delete customer {customerId}").</summary>
    public string? Describe { get; init; }

    /// <summary>Where the route was declared, for error messages.</summary>
    public SourceLocation Location { get; init; }
}

/// <summary>A position in a policy file; 1-based like editors show it.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One problem found while loading a policy.</summary>
public sealed record PolicyError(SourceLocation Location, string Message)
{
    public override string ToString() => $"{Location}: {Message}";
}
