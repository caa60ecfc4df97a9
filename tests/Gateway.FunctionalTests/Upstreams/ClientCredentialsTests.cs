using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Upstreams;

/// <summary>
/// <c>auth.oauth2_client_credentials</c> against a real authorization server (OpenIddict) on loopback: one token for
/// the gateway, fetched once however many calls arrive, renewed before it expires, and a 503 (never a bare call)
/// while it cannot be had.
/// </summary>
public sealed class ClientCredentialsTests : IDisposable
{
    private const string Secret = "client-secret-5e4d3c2b1a";
    private readonly string _secrets = Directory.CreateTempSubdirectory("gateway-secrets-").FullName;

    [Fact]
    public async Task AllowedCall_UpstreamGetsTheServersToken_AndNeverTheAgentsToken()
    {
        await using var server = await TestAuthorizationServer.StartAsync(Secret);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server);
        var token = issuer.Mint();

        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var authorization = Assert.Single(upstream.Received).Headers["Authorization"];
        Assert.StartsWith("Bearer ", authorization, StringComparison.Ordinal);
        var brokered = authorization["Bearer ".Length..];
        Assert.NotEqual(token, brokered);
        var claims = TestAuthorizationServer.ReadClaims(brokered);
        Assert.Equal(TestAuthorizationServer.ClientId, claims.GetProperty("sub").GetString());
        Assert.Equal(server.Address.ToString(), claims.GetProperty("iss").GetString());
        Assert.Equal("crm.read", claims.GetProperty("scope").GetString());
        Assert.Equal(1, server.TokenRequests);
    }

    [Fact]
    public async Task HundredConcurrentFirstCalls_MakeOneTokenRequest()
    {
        await using var server = await TestAuthorizationServer.StartAsync(Secret);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server);
        var token = issuer.Mint();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);
            return response.StatusCode;
        }));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(1, server.TokenRequests);
        Assert.Single(upstream.Received.Select(r => r.Headers["Authorization"]).Distinct());
    }

    [Fact]
    public async Task ExpiringToken_IsRefreshed()
    {
        await using var server = await TestAuthorizationServer.StartAsync(Secret, tokenLifetime: TimeSpan.FromSeconds(2));
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server);
        var token = issuer.Mint();

        (await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token)).Dispose();
        (await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token)).Dispose();
        Assert.Equal(1, server.TokenRequests);
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.TokenRequests);
        var seen = upstream.Received.Select(r => r.Headers["Authorization"]).ToList();
        Assert.Equal(seen[0], seen[1]);
        Assert.NotEqual(seen[1], seen[2]);
        var last = TestAuthorizationServer.ReadClaims(seen[2]["Bearer ".Length..]);
        Assert.True(DateTimeOffset.FromUnixTimeSeconds(last.GetProperty("exp").GetInt64()) > DateTimeOffset.UtcNow, "the upstream was given a token that had not expired");
    }

    [Fact]
    public async Task TokenEndpointDown_Gets503WithRetryAfter_ThenRecovers()
    {
        await using var server = await TestAuthorizationServer.StartAsync(Secret);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server);
        var token = issuer.Mint();
        server.Down = true;

        using (var refused = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, 503, "upstream_credentials_unavailable");
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("could not be reached", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(upstream.Received);
        server.Down = false;
        HttpStatusCode status;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        do
        {
            await Task.Delay(250);
            using var retry = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);
            status = retry.StatusCode;
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("Bearer ", Assert.Single(upstream.Received).Headers["Authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongSecret_Gets503_NamingTheServersErrorCode()
    {
        await using var server = await TestAuthorizationServer.StartAsync("another-secret");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server);

        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint());

        var problem = await ProblemAssert.IsProblemAsync(response, 503, "upstream_credentials_unavailable");
        Assert.True(problem.GetProperty("detail").GetString()!.Contains("invalid_client", StringComparison.Ordinal), problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(Secret, problem.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task RefusedCall_MakesNoTokenRequest()
    {
        await using var server = await TestAuthorizationServer.StartAsync(Secret);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await StartAsync(issuer, upstream, server);

        using var outOfScope = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/43", issuer.Mint());
        using var noToken = await gateway.Client.GetAsync("/crm/customers/42");

        Assert.Equal(HttpStatusCode.Forbidden, outOfScope.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal(0, server.TokenRequests);
        Assert.Empty(upstream.Received);
    }

    public void Dispose() => Directory.Delete(_secrets, recursive: true);

    private Task<TestGateway> StartAsync(TestIssuer issuer, UpstreamServer upstream, TestAuthorizationServer server)
    {
        var secretFile = Path.Combine(_secrets, "client.secret");
        File.WriteAllText(secretFile, Secret + "\n");
        return TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With(
            $"{{ oauth2_client_credentials: {{ token_url: \"{server.TokenUrl}\", client_id: {TestAuthorizationServer.ClientId}, client_secret_file: \"{secretFile}\", scope: crm.read }} }}"));
    }
}
