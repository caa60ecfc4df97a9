using Gateway.Audit;
using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>Errors in the gateway, admin, issuers, tiers, upstreams, budgets, approvals, audit and telemetry sections.</summary>
public sealed class PolicyLoaderSectionTests : IDisposable
{
    private const string Issuers = """
        issuers:
          - issuer: https://idp.example
            jwks_file: keys/idp.jwks.json

        """;

    private const string TiersUpstreamsRoutes = """
        tiers:
          low: { risk: 1 }
        upstreams:
          crm: { destinations: [http://127.0.0.1:5101] }

        """;

    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A policy whose <c>gateway</c> section is <paramref name="gateway"/> (starting at line 1).</summary>
    private PolicyLoadResult LoadGateway(string gateway) => _folder.LoadText(gateway + "\n" + Issuers + TiersUpstreamsRoutes);

    /// <summary>A valid policy followed by <paramref name="section"/>, which starts at line 10.</summary>
    private PolicyLoadResult LoadWith(string section) => _folder.LoadText(PolicyTestFolder.Header + section);

    [Fact]
    public void LoadFromText_HeaderOnly_AppliesDefaults()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText(PolicyTestFolder.Header));

        Assert.Equal("https://gateway.example", policy.Gateway.Audience);
        Assert.Equal(TimeSpan.FromHours(1), policy.Gateway.MaxTokenLifetime);
        Assert.Equal(TimeSpan.FromSeconds(30), policy.Gateway.ClockSkew);
        Assert.Equal(3, policy.Gateway.MaxDelegationDepth);
        Assert.Equal(StoreFailureMode.Deny, policy.Gateway.OnStoreFailure);
        Assert.Equal(["ES256"], policy.Issuers[0].Algorithms);
        Assert.Equal(["at+jwt"], policy.Issuers[0].Types);
        Assert.Equal(Path.Combine(_folder.Path, "keys", "idp.jwks.json"), policy.Issuers[0].JwksFile);
        Assert.Equal(50, policy.Budgets.DefaultSteps);
        Assert.Null(policy.Audit.File);
        Assert.Empty(policy.Routes);
    }

    [Fact]
    public void LoadFromText_EveryGatewayKey_IsMapped()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText("""
            gateway:
              audience: https://gateway.example
              max_token_lifetime: 10m
              clock_skew: 0s
              max_delegation_depth: 1
              sender_constraint: required
              store: redis
              redis: redis.internal:6379,ssl=true
              on_store_failure: { allow_below_tier: low }
              mode: shadow
            issuers:
              - issuer: https://idp.example
                jwks_uri: https://idp.example/.well-known/jwks.json
                algorithms: [EdDSA, PS256]
                types: [at+jwt, jwt]
            tiers:
              low: { risk: 1 }
            """));

        var gateway = policy.Gateway;
        Assert.Equal(TimeSpan.FromMinutes(10), gateway.MaxTokenLifetime);
        Assert.Equal(TimeSpan.Zero, gateway.ClockSkew);
        Assert.Equal(1, gateway.MaxDelegationDepth);
        Assert.Equal(SenderConstraint.Required, gateway.SenderConstraint);
        Assert.Equal(StoreKind.Redis, gateway.Store);
        Assert.Equal("redis.internal:6379,ssl=true", gateway.Redis);
        Assert.Equal(StoreFailureMode.AllowBelowTier, gateway.OnStoreFailure);
        Assert.Equal("low", gateway.AllowBelowTier);
        Assert.Equal(EnforcementMode.Shadow, gateway.Mode);
        var issuer = Assert.Single(policy.Issuers);
        Assert.Equal(new Uri("https://idp.example/.well-known/jwks.json"), issuer.JwksUri);
        Assert.Null(issuer.JwksFile);
        Assert.Equal(["EdDSA", "PS256"], issuer.Algorithms);
        Assert.Equal(["at+jwt", "jwt"], issuer.Types);
    }

    [Fact]
    public void LoadFromText_MisspelledGatewayKey_SuggestsKey()
    {
        var result = LoadGateway("""
            gateway:
              audience: https://gateway.example
              clock_skwe: 30s
            """);

        PolicyAssert.SingleError(result, 3, 3, "unknown key 'clock_skwe' in section 'gateway' (did you mean 'clock_skew'?)");
    }

    [Fact]
    public void LoadFromText_MissingAudience_ReportsRequiredKey()
    {
        var result = LoadGateway("""
            gateway:
              mode: enforce
            """);

        PolicyAssert.SingleError(result, 2, 3, "missing required key 'audience' in section 'gateway'");
    }

    [Fact]
    public void LoadFromText_EmptyGatewaySection_ReportsMissingKeyAtSectionName()
    {
        var result = LoadGateway("gateway:\n");

        PolicyAssert.SingleError(result, 1, 1, "missing required key 'audience' in section 'gateway'");
    }

    [Fact]
    public void LoadFromText_NoGatewaySection_ReportsMissingSection()
    {
        var result = _folder.LoadText(Issuers + TiersUpstreamsRoutes);

        PolicyAssert.SingleError(result, 1, 1, "missing required section 'gateway'");
    }

    [Theory]
    [InlineData("max_token_lifetime: 10 minutes", "'max_token_lifetime' in section 'gateway' is not a duration: '10 minutes' (use a whole number and a unit")]
    [InlineData("max_token_lifetime: -5m", "'max_token_lifetime' in section 'gateway' cannot be negative, found '-5m'")]
    [InlineData("max_token_lifetime: 0s", "'max_token_lifetime' in section 'gateway' must be longer than zero")]
    [InlineData("clock_skew: 30", "'clock_skew' in section 'gateway' is not a duration: '30'")]
    public void LoadFromText_MalformedDuration_ReportsDuration(string line, string fragment)
    {
        var result = LoadGateway($"""
            gateway:
              audience: https://gateway.example
              {line}
            """);

        PolicyAssert.SingleError(result, 3, line.IndexOf(':', StringComparison.Ordinal) + 5, fragment);
    }

    [Theory]
    [InlineData("store: mysql", 10, "'store' in section 'gateway' must be memory or redis, found 'mysql'")]
    [InlineData("mode: enforced", 9, "'mode' in section 'gateway' must be enforce or shadow, found 'enforced' (did you mean 'enforce'?)")]
    [InlineData("sender_constraint: always", 22, "'sender_constraint' in section 'gateway' must be optional or required, found 'always'")]
    [InlineData("max_delegation_depth: 0", 25, "'max_delegation_depth' in section 'gateway' must be at least 1, found 0")]
    [InlineData("max_delegation_depth: three", 25, "'max_delegation_depth' in section 'gateway' must be a whole number, found 'three'")]
    [InlineData("on_store_failure: allow", 21, "'on_store_failure' in section 'gateway' must be deny or a mapping { allow_below_tier: TIER }, found 'allow'")]
    [InlineData("on_store_failure: allow_below_tier", 21, "needs the highest tier that may go on, as a mapping: on_store_failure: { allow_below_tier: low }")]
    [InlineData("on_store_failure: { allow_below_tier: medium }", 41, "unknown tier 'medium' named by 'allow_below_tier' in 'gateway.on_store_failure' (defined tiers: low)")]
    [InlineData("redis: redis:6379,password=hunter2", 10, "carries a password, and secrets never go in the policy file")]
    public void LoadFromText_BadGatewayValue_ReportsValue(string line, int column, string fragment)
    {
        var result = LoadGateway($"""
            gateway:
              audience: https://gateway.example
              {line}
            """);

        PolicyAssert.SingleError(result, 3, column, fragment);
    }

    [Fact]
    public void LoadFromText_AllowBelowUnknownTier_PointsAtTierName()
    {
        var result = LoadGateway("""
            gateway:
              audience: https://gateway.example
              on_store_failure:
                allow_below_tier: medium
            """);

        PolicyAssert.SingleError(result, 4, 23, "unknown tier 'medium' named by 'allow_below_tier'");
    }

    [Theory]
    [InlineData("none", "algorithm 'none' in issuer 'https://idp.example' is never accepted: an unsigned token proves nothing")]
    [InlineData("HS256", "algorithm 'HS256' in issuer 'https://idp.example' is never accepted: HMAC keys are shared secrets")]
    [InlineData("ES384", "unsupported algorithm 'ES384' in issuer 'https://idp.example' (expected ES256, EdDSA, Ed25519, RS256 or PS256)")]
    [InlineData("es256", "unsupported algorithm 'es256' in issuer 'https://idp.example' (expected ES256, EdDSA, Ed25519, RS256 or PS256) (did you mean 'ES256'?)")]
    public void LoadFromText_RefusedAlgorithm_ReportsWhy(string algorithm, string fragment)
    {
        var result = _folder.LoadText($"""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
                algorithms: [ES256, {algorithm}]
            """);

        PolicyAssert.SingleError(result, 6, 25, fragment);
    }

    [Fact]
    public void LoadFromText_IssuerWithBothKeySources_ReportsExactlyOne()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
                jwks_uri: https://idp.example/jwks
            """);

        PolicyAssert.SingleError(result, 6, 15, "both 'jwks_file' and 'jwks_uri' are set in issuer 'https://idp.example'; set exactly one");
    }

    [Fact]
    public void LoadFromText_IssuerWithNoKeySource_ReportsExactlyOne()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                algorithms: [ES256]
            """);

        PolicyAssert.SingleError(result, 4, 5, "missing key source in issuer 'https://idp.example': set exactly one of 'jwks_file'");
    }

    [Fact]
    public void LoadFromText_MissingJwksFile_ReportsPathLookedFor()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/missing.json
            """);

        var error = PolicyAssert.SingleError(result, 5, 16, "jwks_file 'keys/missing.json' in issuer 'https://idp.example' does not exist");
        Assert.Contains(Path.Combine(_folder.Path, "keys", "missing.json"), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://idp.example/jwks", "must use https (plain http is accepted only for localhost")]
    [InlineData("/jwks.json", "must be an absolute https URL")]
    [InlineData("ftp://idp.example/jwks", "must be an absolute https URL")]
    public void LoadFromText_UnsafeJwksUri_ReportsHttpsRequired(string uri, string fragment)
    {
        var result = _folder.LoadText($"""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_uri: {uri}
            """);

        PolicyAssert.SingleError(result, 5, 15, fragment);
    }

    [Theory]
    [InlineData("http://localhost:8080/jwks")]
    [InlineData("http://127.0.0.1:8080/jwks")]
    [InlineData("http://[::1]:8080/jwks")]
    public void LoadFromText_LoopbackHttpJwksUri_Loads(string uri)
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText($"""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_uri: {uri}
            """));

        Assert.Equal(new Uri(uri), policy.Issuers[0].JwksUri);
    }

    [Fact]
    public void LoadFromText_NoIssuers_ReportsIssuerRequired()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            """);

        PolicyAssert.SingleError(result, 1, 1, "at least one issuer is required under 'issuers'");
    }

    [Fact]
    public void LoadFromText_DuplicateIssuer_NamesFirst()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            """);

        PolicyAssert.SingleError(result, 6, 13, "issuer 'https://idp.example' is already configured at gateway.yaml:4:13");
    }

    [Fact]
    public void LoadFromText_Tiers_KeepWrittenOrderAsRank()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            tiers:
              zeta:  { risk: 1 }
              alpha: { risk: 5, min_intent: explicit }
              mid:   { risk: 0, min_intent: step_up, approval: required }
            """));

        Assert.Equal([("zeta", 0), ("alpha", 1), ("mid", 2)], policy.Tiers.Values.OrderBy(t => t.Rank).Select(t => (t.Name, t.Rank)));
        Assert.Equal(IntentMethod.Explicit, policy.Tiers["alpha"].MinIntent);
        Assert.Equal(ApprovalRequirement.Required, policy.Tiers["mid"].Approval);
        Assert.Equal(0, policy.Tiers["mid"].Risk);
    }

    [Fact]
    public void LoadFromText_TierWithoutRisk_ReportsRequiredKey()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            tiers:
              high: { min_intent: explicit }
            """);

        PolicyAssert.SingleError(result, 7, 9, "missing required key 'risk' in tier 'high'");
    }

    [Theory]
    [InlineData("crm: { destinations: [/crm] }", 25, "destination '/crm' in upstream 'crm' must be an absolute http or https URL")]
    [InlineData("crm: { destinations: [] }", 24, "'destinations' in upstream 'crm' must list at least one value")]
    [InlineData("crm: {}", 8, "missing required key 'destinations' in upstream 'crm'")]
    public void LoadFromText_BadUpstream_ReportsDestinations(string upstream, int column, string fragment)
    {
        var result = _folder.LoadText($"""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            upstreams:
              {upstream}
            """);

        PolicyAssert.SingleError(result, 7, column, fragment);
    }

    [Fact]
    public void LoadFromText_BudgetsAndApprovals_AreMappedAndChecked()
    {
        var ok = PolicyAssert.Loaded(LoadWith("""
            budgets:
              steps: { default: 10 }
              risk: { limit: 40, window: 1h, on_exceed: deny }
            approvals:
              ttl: 5m
              approvers: [admin, subject]
            """));
        Assert.Equal(10, ok.Budgets.DefaultSteps);
        Assert.Equal(40, ok.Budgets.RiskLimit);
        Assert.Equal(TimeSpan.FromHours(1), ok.Budgets.RiskWindow);
        Assert.Equal(RiskExceedAction.Deny, ok.Budgets.OnExceed);
        Assert.Equal(TimeSpan.FromMinutes(5), ok.Approvals.Ttl);
        Assert.Equal(["admin", "subject"], ok.Approvals.Approvers);

        var bad = LoadWith("""
            budgets:
              steps: { default: 0 }
              risk: { limit: -3, window: 0s, on_exceed: ask }
            approvals:
              ttl: forever
              approvers: [admins]
            """);
        Assert.Equal(6, bad.Errors.Count);
        PolicyAssert.HasError(bad, 11, 21, "'default' in 'budgets.steps' must be at least 1, found 0");
        PolicyAssert.HasError(bad, 12, 18, "'limit' in 'budgets.risk' must be at least 1, found -3");
        PolicyAssert.HasError(bad, 12, 30, "'window' in 'budgets.risk' must be longer than zero");
        PolicyAssert.HasError(bad, 12, 45, "'on_exceed' in 'budgets.risk' must be approval or deny, found 'ask'");
        PolicyAssert.HasError(bad, 14, 8, "'ttl' in section 'approvals' is not a duration: 'forever'");
        PolicyAssert.HasError(bad, 15, 15, "unknown approver 'admins' in section 'approvals' (expected admin or subject) (did you mean 'admin'?)");
    }

    [Fact]
    public void LoadFromText_AdminKeyDigests_AreLowercasedAndChecked()
    {
        var upper = new string('A', 64);
        var ok = PolicyAssert.Loaded(LoadWith($"""
            admin:
              urls: http://127.0.0.1:9901;http://[::1]:9901
              key_sha256: [{upper}]
            """));
        Assert.Equal([new string('a', 64)], ok.Admin.KeySha256);
        Assert.Equal(["http://127.0.0.1:9901", "http://[::1]:9901"], ok.Admin.Urls);

        var bad = LoadWith("""
            admin:
              urls: [127.0.0.1:9901]
              key_sha256: [my-secret-admin-key]
            """);
        Assert.Equal(2, bad.Errors.Count);
        PolicyAssert.HasError(bad, 11, 10, "'urls' in section 'admin' must hold absolute http or https URLs");
        PolicyAssert.HasError(bad, 12, 16, "'key_sha256' in section 'admin' must hold SHA-256 digests (64 hex characters)");
        Assert.DoesNotContain(bad.Errors, e => e.Message.Contains("my-secret-admin-key", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadFromText_AuditFile_IsResolvedAgainstPolicyFolder()
    {
        var policy = PolicyAssert.Loaded(LoadWith("""
            audit:
              file: audit/decisions.jsonl
              redis_stream: gateway:audit
            telemetry:
              raw_subject: true
            """));

        Assert.Equal(Path.Combine(_folder.Path, "audit", "decisions.jsonl"), policy.Audit.File);
        Assert.Equal("gateway:audit", policy.Audit.RedisStream);
        Assert.Null(policy.Audit.MaxFileBytes);
        Assert.True(policy.Telemetry.RawSubject);
    }

    [Fact]
    public void LoadFromText_AuditMaxFileBytes_IsReadAndMustBePositive()
    {
        var policy = PolicyAssert.Loaded(LoadWith("""
            audit:
              file: audit/decisions.jsonl
              max_file_bytes: 1048576
            """));
        Assert.Equal(1048576, policy.Audit.MaxFileBytes);

        var bad = LoadWith("""
            audit:
              file: audit/decisions.jsonl
              max_file_bytes: 0
            """);
        PolicyAssert.SingleError(bad, 12, 19, "'max_file_bytes' in section 'audit' must be at least 1, found 0");
    }

    [Fact]
    public void LoadFromText_AuditDurability_IsReadWithClearErrors()
    {
        var policy = PolicyAssert.Loaded(LoadWith("""
            audit:
              file: audit/decisions.jsonl
              fsync: interval
              fsync_interval: 250ms
              batch_delay: 0s
            """));
        Assert.Equal(AuditFsyncPolicy.Interval, policy.Audit.Fsync);
        Assert.Equal(TimeSpan.FromMilliseconds(250), policy.Audit.FsyncInterval);
        Assert.Equal(TimeSpan.Zero, policy.Audit.BatchDelay);

        var defaults = PolicyAssert.Loaded(LoadWith("""
            audit:
              file: audit/decisions.jsonl
            """));
        Assert.Null(defaults.Audit.Fsync);
        Assert.Null(defaults.Audit.BatchDelay);

        var bad = LoadWith("""
            audit:
              file: audit/decisions.jsonl
              fsync: always
              batch_delay: 2s
            """);
        Assert.False(bad.Succeeded);
        Assert.Contains(bad.Errors, e => e.Message.Contains("'fsync'", StringComparison.Ordinal) && e.Message.Contains("every_batch", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Message == "'batch_delay' in section 'audit' may be at most 1s");
    }

    [Fact]
    public void LoadFromText_YamlOneOneBoolean_IsRefused()
    {
        var result = LoadWith("""
            telemetry:
              raw_subject: yes
            """);

        PolicyAssert.SingleError(result, 11, 16, "'raw_subject' in section 'telemetry' must be true or false, found 'yes'");
    }
}
