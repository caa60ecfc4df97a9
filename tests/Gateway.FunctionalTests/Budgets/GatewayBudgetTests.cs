using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Budgets;

/// <summary>
/// Budgets as an agent sees them, through the real gateway: one shared test class, run once on
/// the in-memory store and once on a real redis-server.
/// </summary>
public abstract class GatewayBudgetTests : IAsyncLifetime
{
    protected const string RiskPolicy = """
        gateway:
          audience: {{AUDIENCE}}
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        tiers:
          low:    { risk: 1 }
          medium: { risk: 2 }
        budgets:
          steps: { default: 50 }
          risk:  { limit: 3, window: 2s, on_exceed: deny }
        upstreams:
          crm: { destinations: [ {{UPSTREAM}} ] }
        routes:
          - id: crm-get-customer
            match: { methods: [GET], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:read
            resource: crm:customer/{customerId}
            tier: low
          - id: crm-update-customer
            match: { methods: [PATCH], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:update
            resource: crm:customer/{customerId}
            tier: medium
        """;

    protected TestIssuer Issuer { get; } = new();
    protected UpstreamServer Upstream { get; private set; } = null!;
    protected TestGateway Gateway { get; private set; } = null!;

    protected abstract IReadOnlyDictionary<string, string?> StoreSettings { get; }

    public virtual async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await TestGateway.StartAsync(Issuer, Upstream, settings: StoreSettings);
    }

    public virtual async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
    }

    protected string Token(int? maxSteps = null, string resource = "crm:customer/**", string sub = "user:alice", string agent = "agent:planner", params string[] chain)
    {
        var claims = Issuer.Claims(resource: resource, sub: sub, agent: agent);
        var cap = new JsonObject();
        if (maxSteps is { } steps)
        {
            cap["max_steps"] = steps;
        }

        if (chain.Length > 0)
        {
            cap["chain"] = new JsonArray([.. chain.Select(c => (JsonNode)c!)]);
        }

        claims["cap"] = cap;
        return Issuer.Mint(claims);
    }

    protected static string Jti(string token) =>
        JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[1])).RootElement.GetProperty("jti").GetString()!;

    protected static Task<HttpResponseMessage> GetAsync(TestGateway gateway, string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", token);
        return gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task MaxSteps5_With50ConcurrentCalls_AdmitsExactly5()
    {
        var token = Token(maxSteps: 5);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => GetAsync(Gateway, $"/crm/customers/c{i}", token)));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            await ProblemAssert.IsProblemAsync(refused, 403, "step_limit_exceeded");
        }

        var remaining = responses.Where(r => r.StatusCode == HttpStatusCode.OK)
            .Select(r => int.Parse(Assert.Single(r.Headers.GetValues("Gateway-Steps-Remaining"))))
            .Order()
            .ToArray();
        Assert.Equal([0, 1, 2, 3, 4], remaining);
    }

    [Fact]
    public async Task RefusedCalls_ConsumeNoBudget()
    {
        var token = Token(maxSteps: 3, resource: "crm:customer/mine");
        for (var i = 0; i < 5; i++)
        {
            await ProblemAssert.IsProblemAsync(await GetAsync(Gateway, "/crm/customers/not-mine", token), 403, "insufficient_scope");
        }

        var allowed = await GetAsync(Gateway, "/crm/customers/mine", token);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("2", Assert.Single(allowed.Headers.GetValues("Gateway-Steps-Remaining")));
        Assert.True(allowed.Headers.Contains("Gateway-Risk-Remaining"));
    }

    [Fact]
    public async Task ChildTokenCalls_ExhaustTheParent()
    {
        var parent = Token(maxSteps: 3, agent: "agent:parent");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(Gateway, "/crm/customers/p1", parent)).StatusCode);
        var child = Token(maxSteps: 10, agent: "agent:child", chain: Jti(parent));

        var first = await GetAsync(Gateway, "/crm/customers/k1", child);
        var second = await GetAsync(Gateway, "/crm/customers/k2", child);
        var third = await GetAsync(Gateway, "/crm/customers/k3", child);
        var parentAgain = await GetAsync(Gateway, "/crm/customers/p2", parent);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await ProblemAssert.IsProblemAsync(third, 403, "step_limit_exceeded");
        await ProblemAssert.IsProblemAsync(parentAgain, 403, "step_limit_exceeded");
    }

    [Fact]
    public async Task AdminBudgets_ShowsWhatIsLeft_AndNeedsTheAdminKey()
    {
        var token = Token(maxSteps: 9, sub: "user:budget-view", agent: "agent:viewer");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(Gateway, "/crm/customers/b1", token)).StatusCode);

        var anonymous = await Gateway.Admin.GetAsync("/budgets?sub=user:budget-view&agent=agent:viewer");
        var response = await Gateway.AdminSendAsync(HttpMethod.Get, $"/budgets?sub=user:budget-view&agent=agent:viewer&jti={Jti(token)}");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, json.GetProperty("risk").GetProperty("used").GetInt32());
        Assert.Equal(8, json.GetProperty("steps").GetProperty("remaining").GetInt32());
    }

    [Fact]
    public async Task Readyz_IsOpenAndReady()
    {
        var ready = await Gateway.Admin.GetAsync("/readyz");
        var health = await Gateway.Admin.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task RiskBudget_IsRefusedPastTheLimit_AndRollsWithTheWindow()
    {
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Issuer, upstream, RiskPolicy, StoreSettings);
        var token = Token(maxSteps: 100, sub: "user:risky-" + Guid.NewGuid().ToString("N"));

        // Align to the start of a fresh 2 s window so the three calls land in one window.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Task.Delay(TimeSpan.FromMilliseconds(2000 - (now % 2000) + 50));
        var results = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await GetAsync(gateway, $"/crm/customers/r{i}", token));
        }

        Assert.All(results.Take(3), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var problem = await ProblemAssert.IsProblemAsync(results[3], 403, "risk_budget_exceeded");
        Assert.True(problem.GetProperty("retry_after").GetInt32() >= 1);
        Assert.True(results[3].Headers.RetryAfter is not null);

        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, "/crm/customers/after", token)).StatusCode);
    }
}

public sealed class InMemoryGatewayBudgetTests : GatewayBudgetTests
{
    protected override IReadOnlyDictionary<string, string?> StoreSettings { get; } = new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" };
}

public sealed class RedisGatewayBudgetTests : GatewayBudgetTests
{
    private RedisServer _redis = null!;
    private Dictionary<string, string?> _settings = [];

    protected override IReadOnlyDictionary<string, string?> StoreSettings => _settings;

    public override async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.ConnectionString };
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task TwoGatewaysSharingOneRedis_AdmitExactlyMaxSteps()
    {
        await using var second = await TestGateway.StartAsync(Issuer, Upstream, settings: _settings);
        var token = Token(maxSteps: 5);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => GetAsync(i % 2 == 0 ? Gateway : second, $"/crm/customers/two-{i}", token)));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(45, responses.Count(r => r.StatusCode == HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task RedisKilledMidLoad_Gives503sWithoutOverAdmission_AndRecoversAfterRestart()
    {
        var token = Token(maxSteps: 40);
        var before = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => GetAsync(Gateway, $"/crm/customers/kill-a{i}", token)));
        Assert.All(before, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        await _redis.KillAsync();
        var during = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => GetAsync(Gateway, $"/crm/customers/kill-b{i}", token)));
        foreach (var response in during)
        {
            var problem = await ProblemAssert.IsProblemAsync(response, 503, "policy_store_unavailable");
            Assert.True(problem.GetProperty("retry_after").GetInt32() >= 1);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Gateway.Admin.GetAsync("/readyz")).StatusCode);

        // With persistence off, a restarted Redis starts empty: the budgets count afresh.
        await _redis.RestartAsync();
        var fresh = Token(maxSteps: 3);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResponseMessage probe;
        do
        {
            await Task.Delay(250);
            probe = await GetAsync(Gateway, "/crm/customers/kill-probe", fresh);
        }
        while (probe.StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        var after = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => GetAsync(Gateway, $"/crm/customers/kill-c{i}", fresh)));
        Assert.Equal(2, after.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.OK, (await Gateway.Admin.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task AllowBelowTier_LetsLowTierCallsOnWhileRedisIsDown_CountedLocally()
    {
        var policy = TestPolicies.Default.Replace("  max_delegation_depth: 3", "  max_delegation_depth: 3\n  on_store_failure: { allow_below_tier: low }", StringComparison.Ordinal);
        await using var redis = await RedisServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Issuer, Upstream, policy, new Dictionary<string, string?> { ["Gateway:Store:Redis"] = redis.ConnectionString });
        var token = Token(maxSteps: 3);
        var updateClaims = Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/**");
        var update = Issuer.Mint(updateClaims);

        await redis.KillAsync();
        var low = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            low.Add((await GetAsync(gateway, $"/crm/customers/degraded-{i}", token)).StatusCode);
        }

        var patch = new HttpRequestMessage(HttpMethod.Patch, "/crm/customers/degraded-x");
        patch.Headers.Authorization = new("Bearer", update);
        var medium = await gateway.Client.SendAsync(patch);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden], low);
        await ProblemAssert.IsProblemAsync(medium, 503, "policy_store_unavailable");
    }
}
