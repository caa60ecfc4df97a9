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

    /// <summary>The gateway's own issuer for delegated child tokens (<c>POST /delegations</c>); null when not configured.</summary>
    public DelegationSettings? Delegation { get; init; }

    /// <summary>OpenID Shared Signals transmitters whose security events revoke tokens (<c>POST /signals/events</c>); null when not configured.</summary>
    public SignalSettings? Signals { get; init; }

    /// <summary>How Token Status Lists are fetched and cached (<c>status_list_cache</c>); defaults when not configured.</summary>
    public StatusListCacheSettings StatusListCache { get; init; } = new();
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

    /// <summary>A route's tier; an MCP route's is <see cref="TierSettings.McpProtocol"/>.</summary>
    public TierSettings TierOf(RoutePolicy route)
    {
        ArgumentNullException.ThrowIfNull(route);
        return route.Mcp is null ? Tiers[route.Tier] : TierSettings.McpProtocol;
    }
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

    /// <summary>
    /// <c>status_lists</c>: URL prefixes a token's <c>status.status_list.uri</c> may start with (each an absolute https
    /// URL, or http on loopback). Empty by default: a token of this issuer that names a status list is then refused,
    /// since the gateway fetches only from places the policy names.
    /// </summary>
    public IReadOnlyList<Uri> StatusLists { get; init; } = [];
}

/// <summary>
/// <c>status_list_cache</c>: how the gateway fetches and keeps the Token Status Lists that tokens point at
/// (draft-ietf-oauth-status-list). Every value has a default; the section is optional.
/// </summary>
public sealed record StatusListCacheSettings
{
    /// <summary>Longest a list is kept, whatever its <c>ttl</c> says, and how long one without a <c>ttl</c> is kept. Default 5 minutes.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest decompressed list accepted, in bytes. Default 1 MiB (8,388,608 one-bit entries).</summary>
    public int MaxBytes { get; init; } = 1024 * 1024;

    /// <summary>Longest one fetch of a list may take. Default 5 seconds.</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// How the gateway mints child tokens. The issuer is one of <see cref="GatewayPolicy.Issuers"/>, so a child is
/// validated like any other token, with the public half of the signing key from that issuer's JWKS.
/// </summary>
public sealed record DelegationSettings
{
    /// <summary>The <c>iss</c> of child tokens; must also be listed under <c>issuers</c>.</summary>
    public required string Issuer { get; init; }

    /// <summary>Absolute path of the private JWK that signs child tokens (resolved against the policy file's folder).</summary>
    public required string SigningKeyFile { get; init; }

    /// <summary>Longest lifetime of a child token. Default 15 minutes; at most <c>gateway.max_token_lifetime</c>.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary><c>status_list</c>: the Token Status List the gateway publishes for its child tokens; null publishes none.</summary>
    public PublishedStatusListSettings? StatusList { get; init; }
}

/// <summary>
/// <c>delegation.status_list</c>: children carry <c>status.status_list {idx, uri}</c>, and the admin listener serves the
/// list at <see cref="Path"/> (<c>GET</c>, no admin key), signed with the delegation key.
/// </summary>
public sealed record PublishedStatusListSettings
{
    /// <summary>The path the admin listener serves the list at.</summary>
    public const string Path = "/status-lists/delegation";

    /// <summary>The list's URL as relying parties reach it (the admin listener's <see cref="Path"/>, through whatever fronts it); children carry it.</summary>
    public required Uri Uri { get; init; }

    /// <summary>The list's <c>ttl</c>: how long a relying party may keep it. Default 30 seconds.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Entries in the list (one bit each), reused in a ring. Default 1,048,576 (128 KiB).</summary>
    public int Size { get; init; } = 1024 * 1024;
}

/// <summary>The <c>signals</c> section: who may send security event tokens, and how old one may be.</summary>
public sealed record SignalSettings
{
    public required IReadOnlyList<SignalTransmitter> Transmitters { get; init; }

    /// <summary>Oldest <c>iat</c> accepted (plus <c>clock_skew</c>); also how long a <c>jti</c> is remembered against replay. Default 5 minutes.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>One transmitter: the SET's <c>iss</c> (its keys are that issuer's under <c>issuers</c>) and the <c>aud</c> it must carry.</summary>
public sealed record SignalTransmitter(string Issuer, string Audience);

public sealed record TierSettings
{
    /// <summary>
    /// The tier of an MCP route's protocol messages (<c>initialize</c>, <c>ping</c>, the lists): no risk, nothing to
    /// approve. Its empty name appears nowhere a policy's tiers do.
    /// </summary>
    public static TierSettings McpProtocol { get; } = new() { Name = "", Rank = -1 };

    public required string Name { get; init; }

    /// <summary>Position in the policy's tier list (0 = lowest); tiers are ordered as written.</summary>
    public int Rank { get; init; }

    public int Risk { get; init; }
    public IntentMethod MinIntent { get; init; } = IntentMethod.Policy;
    public ApprovalRequirement Approval { get; init; } = ApprovalRequirement.None;

    /// <summary>Who may approve this tier's calls (<c>admin</c>, <c>subject</c> or a group name); null = <see cref="ApprovalSettings.Approvers"/>.</summary>
    public IReadOnlyList<string>? Approvers { get; init; }

    /// <summary>False: the call's own <c>sub</c> may not approve it (the approver must name themselves with <c>Approver-Token</c>). Default true.</summary>
    public bool SelfApproval { get; init; } = true;

    /// <summary>The approver must present a fresh <c>Approver-Token</c> meeting these (<c>approver_step_up</c>); null = not required.</summary>
    public StepUpSettings? ApproverStepUp { get; init; }

    /// <summary>Calls of this tier cannot be undone; approval pages say so. Default false.</summary>
    public bool Irreversible { get; init; }
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

    /// <summary>What an approved call must share with the call that asked: its token, or (sub, agent). Default token.</summary>
    public ApprovalBinding Bind { get; init; } = ApprovalBinding.Token;

    /// <summary>Named groups of admin keys (lowercase hex SHA-256 digests, as in <c>admin.key_sha256</c>) a tier may name as approvers.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Groups { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>JSON and form field names redacted from body previews, in addition to <see cref="DefaultRedact"/>.</summary>
    public IReadOnlyList<string> Redact { get; init; } = [];

    /// <summary>Longest body preview kept in an approval record, in characters. Default 2048; 0 keeps none.</summary>
    public int PreviewChars { get; init; } = 2048;

    /// <summary>Largest body a call that needs an approval may carry (it is read to take its digest). Default 1 MiB.</summary>
    public int MaxBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Approval requests one (sub, agent) may have open at once. Default 20.</summary>
    public int MaxOpen { get; init; } = 20;

    /// <summary>Base URL of the admin listener as approvers reach it, for <c>approval_url</c>; null = the admin listener's own address.</summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>Always redacted, whatever <see cref="Redact"/> adds: names that almost always hold a secret.</summary>
    public static readonly IReadOnlyList<string> DefaultRedact =
        ["password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token", "api_key", "authorization", "card_number", "cvv", "cvc", "pin", "ssn"];
}

public enum ApprovalBinding
{
    /// <summary>The retry must carry the same token (<c>jti</c>).</summary>
    Token,

    /// <summary>The retry may carry another token of the same <c>sub</c> and agent (a refreshed token).</summary>
    SubjectAgent,
}

public sealed record AuditSettings
{
    /// <summary>Absolute path of the JSON Lines file, or null for none.</summary>
    public string? File { get; init; }

    public string? RedisStream { get; init; }

    /// <summary>Size at which the file is rotated (<c>audit.max_file_bytes</c>); null for the sink's default, 64 MiB.</summary>
    public int? MaxFileBytes { get; init; }

    /// <summary>When the file is fsynced (<c>audit.fsync</c>); null for the sink's default, every batch.</summary>
    public Audit.AuditFsyncPolicy? Fsync { get; init; }

    /// <summary>How often with <c>fsync: interval</c> (<c>audit.fsync_interval</c>); null for the default, 1 s.</summary>
    public TimeSpan? FsyncInterval { get; init; }

    /// <summary>How long the writer gathers events into a batch (<c>audit.batch_delay</c>); null for the default, 10 ms.</summary>
    public TimeSpan? BatchDelay { get; init; }
}

public sealed record TelemetrySettings
{
    public bool RawSubject { get; init; }
}

public sealed record UpstreamSettings
{
    public required string Name { get; init; }
    public IReadOnlyList<Uri> Destinations { get; init; } = [];

    /// <summary>The credential the gateway presents to this upstream on allowed calls (<c>auth</c>); null for none.</summary>
    public UpstreamAuthSettings? Auth { get; init; }

    /// <summary>
    /// <c>tls.ca_file</c>: a PEM bundle of the CA certificates that alone are trusted for this upstream's server
    /// certificate (an internal PKI), in place of the system's; null to use the system's.
    /// </summary>
    public string? CaFile { get; init; }
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

    /// <summary>Overrides the tier's <see cref="TierSettings.Irreversible"/> when set.</summary>
    public bool? Irreversible { get; init; }

    /// <summary>Where the route was declared, for error messages.</summary>
    public SourceLocation Location { get; init; }

    /// <summary>
    /// The route's <c>mcp:</c> section; null for a REST route. An MCP route has no action, resource or tier of its own
    /// (<see cref="Action"/> and <see cref="Resource"/> are empty, <see cref="Tier"/> is <see cref="TierSettings.McpProtocol"/>'s):
    /// its messages are decided on their targets'.
    /// </summary>
    public McpRoutePolicy? Mcp { get; init; }
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
