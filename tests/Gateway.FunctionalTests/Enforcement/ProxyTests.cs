using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

public sealed class ProxyTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task AllowedCall_ReachesUpstreamWithGatewayHeadersAndWithoutCredentials()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/allowed-1"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/allowed-1?x=1", token, r =>
        {
            r.Headers.Add("DPoP", "not-a-proof");
            r.Headers.Add("Gateway-Subject", "user:mallory");
            r.Headers.Add("gateway-agent", "agent:forged");
            r.Headers.Add("Gateway-Whatever", "spoof");
            r.Headers.Add("X-Keep", "kept");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var decisionId = Assert.Single(response.Headers.GetValues("Gateway-Decision-Id"));
        Assert.Matches("^[0-9a-f]{32}$", decisionId);

        // The upstream tried to speak for the gateway; its header must not reach the agent.
        Assert.False(response.Headers.Contains("Gateway-Steps-Remaining") && response.Headers.GetValues("Gateway-Steps-Remaining").Single() == "999999");

        var seen = Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/customers/allowed-1");
        Assert.Equal("?x=1", seen.Query);
        Assert.False(seen.Headers.ContainsKey("Authorization"));
        Assert.False(seen.Headers.ContainsKey("DPoP"));
        Assert.False(seen.Headers.ContainsKey("Gateway-Whatever"));
        Assert.Equal("user:alice", seen.Headers["Gateway-Subject"]);
        Assert.Equal("agent:planner", seen.Headers["Gateway-Agent"]);
        Assert.Equal(decisionId, seen.Headers["Gateway-Decision-Id"]);
        Assert.Equal("kept", seen.Headers["X-Keep"]);
    }

    [Fact]
    public async Task OneKeepAliveConnection_TokenSwappedBetweenCalls_EachCallIsJudgedOnItsOwnToken()
    {
        // The token's digest is remembered per header string, which Kestrel reuses on a keep-alive
        // connection when the bytes repeat: a different token on the same connection must never ride on it.
        var good = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/keep-1"));
        var tampered = good[..^4] + (good[^4] == 'A' ? "BBBB" : "AAAA");
        var other = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/other"));
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = fixture.Gateway.Address };

        var statuses = new List<HttpStatusCode>();
        foreach (var token in new[] { good, good, tampered, good, other, good })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/crm/customers/keep-1");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.OK],
            statuses);
    }

    [Fact]
    public async Task NonAsciiSubject_IsPercentEncodedForTheUpstream()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/enc-1", sub: "user:josé"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/enc-1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/customers/enc-1");
        Assert.Equal(Uri.EscapeDataString("user:josé"), seen.Headers["Gateway-Subject"]);
    }

    [Fact]
    public async Task RefusedCall_IsNeverForwarded()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/other"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/refused-1", token);

        var problem = await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
        Assert.Equal("crm-get-customer", problem.GetProperty("route").GetString());
        Assert.Equal(0, fixture.ForwardedCount("refused-1"));
    }

    [Fact]
    public async Task UnknownPath_Gets404NoRoute_BeforeTheTokenIsLookedAt()
    {
        var response = await fixture.SendAsync(HttpMethod.Get, "/nowhere/at/all", token: null);

        var problem = await ProblemAssert.IsProblemAsync(response, 404, "no_route");
        Assert.False(problem.TryGetProperty("route", out _));
        Assert.Equal(0, fixture.ForwardedCount("/nowhere"));
    }

    [Fact]
    public async Task KnownPathWithOtherMethod_Gets404NotA405()
    {
        var token = fixture.Issuer.Mint();
        var response = await fixture.SendAsync(HttpMethod.Put, "/crm/customers/put-1", token);

        await ProblemAssert.IsProblemAsync(response, 404, "no_route");
        Assert.Equal(0, fixture.ForwardedCount("put-1"));
    }

    [Fact]
    public async Task PathWithOtherCaseThanThePolicy_IsNoRoute()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/case-1"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/CRM/Customers/case-1", token);

        await ProblemAssert.IsProblemAsync(response, 404, "no_route");
        Assert.Equal(0, fixture.ForwardedCount("case-1"));
    }

    [Fact]
    public async Task ShadowRoute_ForwardsARefusedCall()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/1"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/shadow/shadow-1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, fixture.ForwardedCount("shadow-1"));
    }

    [Fact]
    public async Task ShadowRoute_WithoutToken_IsForwardedWithoutIdentityHeaders()
    {
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/shadow/shadow-anon", token: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/shadow/shadow-anon");
        Assert.False(seen.Headers.ContainsKey("Gateway-Subject"));
    }

    [Fact]
    public async Task ResponseHeadersFromUpstream_CannotSpoofGatewayHeaders()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/spoof-resp"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/spoof-resp", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (response.Headers.TryGetValues("Gateway-Steps-Remaining", out var values))
        {
            Assert.NotEqual("999999", Assert.Single(values));
        }
    }

    internal static JsonObject Grant(string action, string resource) => new()
    {
        ["type"] = "agent_capability",
        ["actions"] = new JsonArray(action),
        ["resources"] = new JsonArray(resource),
    };
}
