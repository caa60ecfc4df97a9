using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Testing;

namespace Gateway.FunctionalTests.Dpop;

/// <summary>DPoP under policies other than the default: sender_constraint required, server nonces, two replicas on one Redis.</summary>
public sealed class DpopPolicyTests : IClassFixture<RedisFixture>, IAsyncLifetime, IDisposable
{
    private readonly RedisFixture _redis;
    private readonly TestIssuer _issuer = new();
    private readonly TestDpopKey _key = TestDpopKey.Create();
    private UpstreamServer _upstream = null!;

    public DpopPolicyTests(RedisFixture redis) => _redis = redis;

    public async Task InitializeAsync() => _upstream = await UpstreamServer.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    public void Dispose()
    {
        _key.Dispose();
        _issuer.Dispose();
    }

    private static string WithGatewayKeys(string keys) =>
        TestPolicies.Default.Replace("  max_delegation_depth: 3\n", "  max_delegation_depth: 3\n" + keys, StringComparison.Ordinal);

    [Fact]
    public async Task Get_SenderConstraintRequired_RefusesAnUnboundTokenAndAcceptsABoundOne()
    {
        await using var gateway = await TestGateway.StartAsync(_issuer, _upstream, WithGatewayKeys("  sender_constraint: required\n"));
        var unbound = _issuer.Mint(_issuer.Claims(resource: "crm:customer/required"));
        var (path, bound) = Bound("required");

        var refused = await gateway.Client.SendAsync(Bearer(path, unbound));
        var allowed = await DpopClient.SendAsync(gateway, HttpMethod.Get, path, bound, _key.Proof("GET", DpopClient.Url(gateway, path), bound));

        var problem = await ProblemAssert.IsProblemAsync(refused, 401, "invalid_dpop_proof");
        Assert.Equal("sender_constraint_required", problem.GetProperty("reason").GetString());
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", ProblemAssert.Challenge(refused), StringComparison.Ordinal);
        Assert.Equal(200, (int)allowed.StatusCode);
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Get_NonceRequired_AsksForANonceThenAcceptsTheProofCarryingIt()
    {
        await using var gateway = await TestGateway.StartAsync(_issuer, _upstream, WithGatewayKeys("  dpop: { require_nonce: true, nonce_lifetime: 2m }\n"));
        var (path, token) = Bound("nonce");
        var url = DpopClient.Url(gateway, path);

        var first = await DpopClient.SendAsync(gateway, HttpMethod.Get, path, token, _key.Proof("GET", url, token));
        var nonce = Assert.Single(first.Headers.GetValues("DPoP-Nonce"));
        var second = await DpopClient.SendAsync(gateway, HttpMethod.Get, path, token, _key.Proof("GET", url, token, nonce: nonce));
        var stale = await DpopClient.SendAsync(gateway, HttpMethod.Get, path, token, _key.Proof("GET", url, token, nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));

        var problem = await ProblemAssert.IsProblemAsync(first, 401, "invalid_dpop_proof");
        Assert.Equal("use_dpop_nonce", problem.GetProperty("reason").GetString());
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", ProblemAssert.Challenge(first), StringComparison.Ordinal);
        Assert.Equal(200, (int)second.StatusCode);
        Assert.Single(second.Headers.GetValues("DPoP-Nonce"));
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", ProblemAssert.Challenge(stale), StringComparison.Ordinal);
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Get_ProofReplayedOnASecondReplicaBehindOnePublicUrl_IsRefusedAsReplayed()
    {
        // Behind a load balancer both replicas answer to one public name, which is what clients sign as htu.
        const string PublicUrl = "https://agents.example";
        var policy = WithGatewayKeys($"  dpop: {{ public_base_url: \"{PublicUrl}\" }}\n");
        var settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.Server.ConnectionString };
        await using var replicaA = await TestGateway.StartAsync(_issuer, _upstream, policy, settings);
        await using var replicaB = await TestGateway.StartAsync(_issuer, _upstream, policy, settings);
        var (path, token) = Bound("public-url");
        var proof = _key.Proof("GET", PublicUrl + path, token);

        var first = await DpopClient.SendAsync(replicaA, HttpMethod.Get, path, token, proof);
        var replayed = await DpopClient.SendAsync(replicaB, HttpMethod.Get, path, token, proof);
        var fresh = await DpopClient.SendAsync(replicaB, HttpMethod.Get, path, token, _key.Proof("GET", PublicUrl + path, token));
        var hostHeaderUrl = await DpopClient.SendAsync(replicaB, HttpMethod.Get, path, token, _key.Proof("GET", DpopClient.Url(replicaB, path), token));

        Assert.Equal(200, (int)first.StatusCode);
        Assert.Equal("replayed", (await ProblemAssert.IsProblemAsync(replayed, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Equal(200, (int)fresh.StatusCode);
        Assert.Equal("uri_mismatch", (await ProblemAssert.IsProblemAsync(hostHeaderUrl, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Equal(2, _upstream.Received.Count);
    }

    [Fact]
    public async Task Get_ForwardedHeaders_DoNotChangeTheUriTheProofIsCheckedAgainst()
    {
        await using var gateway = await TestGateway.StartAsync(_issuer, _upstream);
        var (path, token) = Bound("forwarded");
        var spoofed = _key.Proof("GET", "https://spoofed.example" + path, token);

        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", "DPoP " + token);
        request.Headers.TryAddWithoutValidation("DPoP", spoofed);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "spoofed.example");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        request.Headers.TryAddWithoutValidation("Forwarded", "host=spoofed.example;proto=https");
        var response = await gateway.Client.SendAsync(request);

        Assert.Equal("uri_mismatch", (await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Get_ReplayStoreDown_Gets503UnlessTheRouteMayGoOnLocally()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = redis.ConnectionString };
        await using var strict = await TestGateway.StartAsync(_issuer, _upstream, settings: settings);
        await using var lenient = await TestGateway.StartAsync(_issuer, _upstream, WithGatewayKeys("  on_store_failure: { allow_below_tier: low }\n"), settings);
        var (path, token) = Bound("store-down");
        await redis.KillAsync();

        var refused = await DpopClient.SendAsync(strict, HttpMethod.Get, path, token, _key.Proof("GET", DpopClient.Url(strict, path), token));
        var proof = _key.Proof("GET", DpopClient.Url(lenient, path), token);
        var allowed = await DpopClient.SendAsync(lenient, HttpMethod.Get, path, token, proof);
        var replayed = await DpopClient.SendAsync(lenient, HttpMethod.Get, path, token, proof);

        var problem = await ProblemAssert.IsProblemAsync(refused, 503, "policy_store_unavailable");
        Assert.Contains("replay store", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, (int)allowed.StatusCode);
        Assert.Equal("replayed", (await ProblemAssert.IsProblemAsync(replayed, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Single(_upstream.Received);
    }

    private static HttpRequestMessage Bearer(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return request;
    }

    private (string Path, string Token) Bound(string id)
    {
        var claims = _issuer.Claims(resource: "crm:customer/" + id);
        claims["cnf"] = new JsonObject { ["jkt"] = _key.Thumbprint };
        return ("/crm/customers/" + id, _issuer.Mint(claims));
    }
}
