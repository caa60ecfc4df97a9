using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Upstreams;

/// <summary>
/// <c>auth.token_exchange</c> (RFC 8693) against a real security token service (OpenIddict's token exchange flow) on
/// loopback: the gateway signs an assertion of the call's user with the agent as actor, and the upstream receives a
/// token for that user, cached per (user, agent) and never presented on another pair's call.
/// </summary>
public sealed class TokenExchangeTests : IDisposable
{
    private const string Secret = "sts-secret-0a1b2c3d4e";
    private const string Audience = TestAuthorizationServer.Audience;
    private readonly string _secrets = Directory.CreateTempSubdirectory("gateway-secrets-").FullName;

    [Fact]
    public async Task PerUserTokens_NeverCrossUsers_AndAreCachedPerUserAndAgent()
    {
        using var gatewayKey = new TestIssuer("https://gateway.test", "gateway-assertions");
        await using var server = await TestAuthorizationServer.StartAsync(Secret, assertionIssuer: gatewayKey);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server, gatewayKey);
        (string Sub, string Agent)[] calls =
        [
            ("user:alice", "agent:planner"), ("user:bob", "agent:planner"), ("user:alice", "agent:planner"),
            ("user:alice", "agent:support"), ("user:bob", "agent:planner"),
        ];

        foreach (var (sub, agent) in calls)
        {
            var token = issuer.Mint(issuer.Claims(sub: sub, agent: agent));
            using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.DoesNotContain(upstream.Received.Last().Headers.Values, v => v.Contains(token.Split('.')[2], StringComparison.Ordinal));
        }

        // Three pairs, three exchanges; each exchange named the call's user with the agent as actor.
        Assert.Equal([("user:alice", "agent:planner"), ("user:bob", "agent:planner"), ("user:alice", "agent:support")], server.Exchanges.ToArray());
        var presented = upstream.Received.Select(r => r.Headers["Authorization"]["Bearer ".Length..]).ToList();
        for (var i = 0; i < calls.Length; i++)
        {
            var claims = TestAuthorizationServer.ReadClaims(presented[i]);
            Assert.Equal(calls[i].Sub, claims.GetProperty("sub").GetString());
            Assert.Equal(calls[i].Agent, claims.GetProperty("agent").GetString());
            Assert.Equal(Audience, claims.GetProperty("aud").GetString());
        }

        Assert.Equal(presented[0], presented[2]);
        Assert.Equal(presented[1], presented[4]);
        Assert.Equal(3, presented.Distinct().Count());
    }

    [Fact]
    public async Task ConcurrentFirstCallsOfOnePair_MakeOneExchange()
    {
        using var gatewayKey = new TestIssuer("https://gateway.test", "gateway-assertions");
        await using var server = await TestAuthorizationServer.StartAsync(Secret, assertionIssuer: gatewayKey);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server, gatewayKey);
        var token = issuer.Mint();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);
            return response.StatusCode;
        }));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Single(server.Exchanges);
        Assert.Equal(1, server.TokenRequests);
    }

    [Fact]
    public async Task RefusedCall_MakesNoExchange()
    {
        using var gatewayKey = new TestIssuer("https://gateway.test", "gateway-assertions");
        await using var server = await TestAuthorizationServer.StartAsync(Secret, assertionIssuer: gatewayKey);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server, gatewayKey);

        using var outOfScope = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/43", issuer.Mint());

        Assert.Equal(HttpStatusCode.Forbidden, outOfScope.StatusCode);
        Assert.Equal(0, server.TokenRequests);
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task AssertionTheStsDoesNotTrust_Gets503_AndIsNotForwarded()
    {
        using var trusted = new TestIssuer("https://gateway.test", "gateway-assertions");
        using var other = new TestIssuer("https://gateway.test", "gateway-assertions");
        await using var server = await TestAuthorizationServer.StartAsync(Secret, assertionIssuer: trusted);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server, other);

        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint());

        var problem = await ProblemAssert.IsProblemAsync(response, 503, "upstream_credentials_unavailable");
        Assert.Contains("invalid_grant", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, problem.GetRawText(), StringComparison.Ordinal);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(server.Exchanges);
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task SigningKeyRotatedToGarbage_NextExchangeIsSignedWithThePreviousKey_AndReadyzStaysReady()
    {
        using var gatewayKey = new TestIssuer("https://gateway.test", "gateway-assertions");
        await using var server = await TestAuthorizationServer.StartAsync(Secret, assertionIssuer: gatewayKey);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server, gatewayKey);
        using (var first = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint(issuer.Claims(sub: "user:alice"))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // A rotation that wrote half a key: two polls later the file is certainly read.
        await File.WriteAllTextAsync(Path.Combine(_secrets, "assertion.jwk"), gatewayKey.PrivateJwk[..(gatewayKey.PrivateJwk.Length / 2)]);
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        // A new (user, agent) pair needs a new exchange, so a new assertion.
        using var second = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint(issuer.Claims(sub: "user:bob")));
        Assert.True(second.StatusCode == HttpStatusCode.OK, await second.Content.ReadAsStringAsync());
        Assert.Equal([("user:alice", "agent:planner"), ("user:bob", "agent:planner")], server.Exchanges.ToArray());
        using var ready = await gateway.Admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    public void Dispose() => Directory.Delete(_secrets, recursive: true);

    private Task<TestGateway> StartAsync(TestIssuer issuer, UpstreamServer upstream, TestAuthorizationServer server, TestIssuer gatewayKey)
    {
        var secretFile = Path.Combine(_secrets, "sts.secret");
        File.WriteAllText(secretFile, Secret + "\n");
        var keyFile = Path.Combine(_secrets, "assertion.jwk");
        File.WriteAllText(keyFile, gatewayKey.PrivateJwk);
        return TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With(
            $"{{ token_exchange: {{ token_url: \"{server.TokenUrl}\", client_id: {TestAuthorizationServer.ClientId}, client_secret_file: \"{secretFile}\", "
            + $"audience: \"{Audience}\", scope: {TestAuthorizationServer.Scope}, issuer: \"{gatewayKey.Issuer}\", signing_key_file: \"{keyFile}\" }} }}"));
    }
}
