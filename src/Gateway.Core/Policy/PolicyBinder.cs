using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

/// <summary>
/// Maps the parsed sections of a policy onto the <see cref="GatewayPolicy"/> records by hand, so
/// that every value can be checked with its file, line and column, and every problem collected.
/// One instance per load.
/// </summary>
internal sealed partial class PolicyBinder
{
    // Events wait this long for company before they are written: past a second it is a backlog, not a batch.
    private static readonly TimeSpan MaxAuditBatchDelay = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyDictionary<string, PolicySection> _single;
    private readonly IReadOnlyDictionary<string, List<PolicySection>> _merged;
    private readonly PolicyErrorCollector _errors;
    private readonly PolicyFile _firstFile;

    // When a file failed to parse, its tiers, upstreams or sections are missing for reasons the user
    // has already been told about; "unknown tier" or "missing section" errors would only add noise.
    private readonly bool _complete;

    private readonly Dictionary<string, (TierSettings Tier, SourceLocation Location)> _tiers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (UpstreamSettings Upstream, SourceLocation Location)> _upstreams = new(StringComparer.Ordinal);

    public PolicyBinder(
        IReadOnlyDictionary<string, PolicySection> single,
        IReadOnlyDictionary<string, List<PolicySection>> merged,
        PolicyFile firstFile,
        bool complete)
    {
        _single = single;
        _merged = merged;
        _firstFile = firstFile;
        _errors = firstFile.Errors;
        _complete = complete;
    }

    /// <summary>The policy, or null when any error was found (the errors are in the collector).</summary>
    public GatewayPolicy? Bind()
    {
        // Tiers and upstreams first: the gateway section and routes refer to them.
        BindTiers();
        BindUpstreams();
        var issuers = BindIssuers();
        var gateway = BindGateway();
        var delegation = BindDelegation(issuers, gateway);
        var signals = BindSignals(issuers);
        var statusListCache = BindStatusListCache();
        BindUpstreamAuth(delegation);
        var admin = BindAdmin();
        var budgets = BindBudgets();
        var approvals = BindApprovals();
        var audit = BindAudit();
        var telemetry = BindTelemetry();
        var routes = BindRoutes();

        if (_errors.Count > 0 || gateway is null)
        {
            return null;
        }

        return new GatewayPolicy
        {
            Gateway = gateway,
            Admin = admin,
            Issuers = issuers,
            Delegation = delegation,
            Signals = signals,
            StatusListCache = statusListCache,
            Tiers = _tiers.ToDictionary(t => t.Key, t => t.Value.Tier, StringComparer.Ordinal),
            Budgets = budgets,
            Approvals = approvals,
            Audit = audit,
            Telemetry = telemetry,
            Upstreams = _upstreams.ToDictionary(u => u.Key, u => u.Value.Upstream, StringComparer.Ordinal),
            Routes = routes,
        };
    }

    private MappingReader? OpenSection(string name, IReadOnlyCollection<string> keys) =>
        _single.TryGetValue(name, out var section)
            // An empty section (`gateway:` and nothing under it) reports its missing keys at its name.
            ? MappingReader.Open(section.File, section.Value, $"in section '{name}'", keys, emptyAt: section.Key)
            : null;

    private GatewaySettings? BindGateway()
    {
        if (!_single.ContainsKey("gateway"))
        {
            if (_complete)
            {
                _errors.Add(_firstFile.Start, "missing required section 'gateway' (it must at least set 'audience')");
            }

            return null;
        }

        var gw = OpenSection("gateway", ["audience", "max_token_lifetime", "clock_skew", "max_delegation_depth", "sender_constraint", "dpop", "max_request_body_bytes", "store", "redis", "on_store_failure", "mode"]);
        if (gw is null)
        {
            return null;
        }

        var audience = gw.String("audience", required: true);
        var defaults = new GatewaySettings { Audience = "" };
        var redis = gw.Scalar("redis");
        if (redis is not null && CarriesPassword(redis.Value ?? ""))
        {
            gw.File.Error(redis, "'redis' in section 'gateway' carries a password, and secrets never go in the policy file: set the whole configuration string in the environment variable Gateway__Store__Redis instead");
        }

        var (onStoreFailure, allowBelowTier) = BindStoreFailure(gw);
        var settings = new GatewaySettings
        {
            Audience = audience ?? "",
            MaxTokenLifetime = gw.Duration("max_token_lifetime") ?? defaults.MaxTokenLifetime,
            ClockSkew = gw.Duration("clock_skew", allowZero: true) ?? defaults.ClockSkew,
            MaxDelegationDepth = gw.Int("max_delegation_depth", minimum: 1) ?? defaults.MaxDelegationDepth,
            SenderConstraint = gw.Enum("sender_constraint", PolicyNames.SenderConstraints) ?? defaults.SenderConstraint,
            Dpop = BindDpop(gw),
            MaxRequestBodyBytes = gw.Int("max_request_body_bytes", minimum: 0) ?? defaults.MaxRequestBodyBytes,
            Store = gw.Enum("store", PolicyNames.Stores) ?? defaults.Store,
            Redis = redis?.Value ?? defaults.Redis,
            OnStoreFailure = onStoreFailure,
            AllowBelowTier = allowBelowTier,
            Mode = gw.Enum("mode", PolicyNames.Modes) ?? defaults.Mode,
        };
        return audience is null ? null : settings;
    }

    /// <summary>
    /// <c>on_store_failure</c> is either the word <c>deny</c> or the mapping
    /// <c>{ allow_below_tier: TIER }</c>: the contract's <c>deny | allow_below_tier: low</c> read as YAML.
    /// </summary>
    private (StoreFailureMode Mode, string? Tier) BindStoreFailure(MappingReader gw)
    {
        const string Where = "'on_store_failure' in section 'gateway'";
        var node = gw.Value("on_store_failure");
        switch (node)
        {
            case null:
                return (StoreFailureMode.Deny, null);
            case YamlScalarNode { Value: "deny" }:
                return (StoreFailureMode.Deny, null);
            case YamlScalarNode { Value: "allow_below_tier" } scalar:
                gw.File.Error(scalar, $"{Where} needs the highest tier that may go on, as a mapping: on_store_failure: {{ allow_below_tier: low }}");
                return (StoreFailureMode.Deny, null);
            case YamlScalarNode scalar:
                gw.File.Error(scalar, $"{Where} must be deny or a mapping {{ allow_below_tier: TIER }}, found '{scalar.Value}'{DidYouMean.Hint(scalar.Value ?? "", ["deny", "allow_below_tier"])}");
                return (StoreFailureMode.Deny, null);
            default:
                var mapping = MappingReader.Open(gw.File, node, "in 'gateway.on_store_failure'", ["allow_below_tier"]);
                if (mapping?.Scalar("allow_below_tier", required: true) is not { } tier)
                {
                    return (StoreFailureMode.Deny, null);
                }

                CheckTierExists(gw.File, tier, "named by 'allow_below_tier' in 'gateway.on_store_failure'");
                return (StoreFailureMode.AllowBelowTier, tier.Value);
        }
    }

    private static bool CarriesPassword(string configuration) =>
        configuration.Split(',').Any(option => option.Trim().StartsWith("password=", StringComparison.OrdinalIgnoreCase));

    private AdminSettings BindAdmin()
    {
        var defaults = new AdminSettings();
        var admin = OpenSection("admin", ["urls", "key_sha256"]);
        if (admin is null)
        {
            return defaults;
        }

        return new AdminSettings
        {
            Urls = BindAdminUrls(admin) ?? defaults.Urls,
            KeySha256 = BindKeyDigests(admin) ?? defaults.KeySha256,
        };
    }

    /// <summary>Like Kestrel's <c>--urls</c>: one string with <c>;</c> between URLs, or a list.</summary>
    private static List<string>? BindAdminUrls(MappingReader admin)
    {
        var node = admin.Value("urls");
        if (node is null)
        {
            return null;
        }

        var items = node is YamlScalarNode single
            ? [.. (single.Value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(url => (url, single))]
            : admin.ScalarList("urls")?.Select(scalar => (url: scalar.Value ?? "", scalar)).ToList() ?? [];

        var urls = new List<string>();
        foreach (var (url, scalar) in items)
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                urls.Add(url);
            }
            else
            {
                admin.File.Error(scalar, $"'urls' in section 'admin' must hold absolute http or https URLs such as http://127.0.0.1:9901, found '{url}'");
            }
        }

        if (urls.Count == 0 && items.Count == 0)
        {
            admin.File.Error(node, "'urls' in section 'admin' must name at least one URL");
        }

        return urls;
    }

    private static List<string>? BindKeyDigests(MappingReader admin)
    {
        var items = admin.ScalarList("key_sha256");
        if (items is null)
        {
            return null;
        }

        var digests = new List<string>();
        foreach (var item in items)
        {
            var text = item.Value ?? "";
            if (text.Length == 64 && text.All(char.IsAsciiHexDigit))
            {
                digests.Add(text.ToLowerInvariant());
            }
            else
            {
                // Never echo the value: if it is not a digest, it may be the key itself.
                admin.File.Error(item, "'key_sha256' in section 'admin' must hold SHA-256 digests (64 hex characters) of the admin keys, never the keys themselves: printf %s \"$KEY\" | sha256sum");
            }
        }

        return digests;
    }

    private BudgetSettings BindBudgets()
    {
        var defaults = new BudgetSettings();
        var budgets = OpenSection("budgets", ["steps", "risk"]);
        if (budgets is null)
        {
            return defaults;
        }

        var steps = budgets.Mapping("steps", "in 'budgets.steps'", ["default"]);
        var risk = budgets.Mapping("risk", "in 'budgets.risk'", ["limit", "window", "on_exceed"]);
        return new BudgetSettings
        {
            DefaultSteps = steps?.Int("default", minimum: 1) ?? defaults.DefaultSteps,
            RiskLimit = risk?.Int("limit", minimum: 1) ?? defaults.RiskLimit,
            RiskWindow = risk?.Duration("window") ?? defaults.RiskWindow,
            OnExceed = risk?.Enum("on_exceed", PolicyNames.ExceedActions) ?? defaults.OnExceed,
        };
    }

    private AuditSettings BindAudit()
    {
        var audit = OpenSection("audit", ["file", "redis_stream", "max_file_bytes", "fsync", "fsync_interval", "batch_delay"]);
        if (audit is null)
        {
            return new AuditSettings();
        }

        return new AuditSettings
        {
            // Relative to the policy file, not the working directory, so the same policy writes to
            // the same place however the gateway was started.
            File = audit.String("file") is { } file ? audit.File.ResolvePath(file) : null,
            RedisStream = audit.String("redis_stream"),
            MaxFileBytes = audit.Int("max_file_bytes", minimum: 1),
            Fsync = audit.Enum("fsync", PolicyNames.FsyncPolicies),
            FsyncInterval = audit.Duration("fsync_interval"),
            BatchDelay = AtMost(audit, "batch_delay", audit.Duration("batch_delay", allowZero: true), MaxAuditBatchDelay),
        };
    }

    private TelemetrySettings BindTelemetry()
    {
        var telemetry = OpenSection("telemetry", ["raw_subject"]);
        return new TelemetrySettings { RawSubject = telemetry?.Bool("raw_subject") ?? false };
    }

    private void CheckTierExists(PolicyFile file, YamlScalarNode node, string what)
    {
        var name = node.Value ?? "";
        if (_complete && !_tiers.ContainsKey(name))
        {
            file.Error(node, $"unknown tier '{name}' {what}{KnownNames(name, _tiers.Keys, "tiers")}");
        }
    }

    /// <summary>" (did you mean 'x'?)" when a name is close, else the names that do exist.</summary>
    private static string KnownNames(string name, IReadOnlyCollection<string> known, string what) =>
        DidYouMean.Suggest(name, known) is { } suggestion ? $" (did you mean '{suggestion}'?)"
        : known.Count == 0 ? $" (no {what} are defined)"
        : $" (defined {what}: {string.Join(", ", known)})";
}
