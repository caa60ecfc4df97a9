using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

public sealed class ScopeTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private string Token(params JsonObject[] grants)
    {
        var claims = fixture.Issuer.Claims();
        claims["authorization_details"] = new JsonArray([.. grants]);
        return fixture.Issuer.Mint(claims);
    }

    [Theory]
    [InlineData("crm.customers:read", "crm:customer/s1", "/crm/customers/s1", true)]
    [InlineData("crm.*:read", "crm:customer/s2", "/crm/customers/s2", true)]
    [InlineData("crm.customers:*", "crm:customer/s3", "/crm/customers/s3", true)]
    [InlineData("crm.customers:read", "crm:customer/*", "/crm/customers/s4", true)]
    [InlineData("crm.customers:read", "crm:customer/**", "/crm/customers/s5", true)]
    [InlineData("crm.customers:read", "crm:*/s6", "/crm/customers/s6", true)]
    [InlineData("crm.notes:read", "crm:customer/s7/**", "/crm/customers/s7/notes/n1", true)]
    [InlineData("crm.notes:read", "crm:customer/*", "/crm/customers/s8/notes/n1", false)]
    [InlineData("crm.customers:write", "crm:customer/s9", "/crm/customers/s9", false)]
    [InlineData("crm.customers:read", "crm:customer/S10", "/crm/customers/s10", false)]
    [InlineData("crm.customers:read", "crm:customer/s11x", "/crm/customers/s11", false)]
    [InlineData("billing.customers:read", "crm:customer/s12", "/crm/customers/s12", false)]
    public async Task Grant_IsMatchedWithTheContractsWildcards(string action, string resource, string path, bool allowed)
    {
        var response = await fixture.SendAsync(HttpMethod.Get, path, Token(ProxyTests.Grant(action, resource)));

        if (allowed)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
        }
    }

    [Fact]
    public async Task ActionFromOneEntryAndResourceFromAnother_IsRefused()
    {
        // Entry 1 grants reading customer 1; entry 2 grants deleting customer 2. Neither grants reading 2.
        var token = Token(
            ProxyTests.Grant("crm.customers:read", "crm:customer/one"),
            ProxyTests.Grant("crm.customers:delete", "crm:customer/two"));

        var refused = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/two", token);
        var allowed = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/one", token);

        await ProblemAssert.IsProblemAsync(refused, 403, "insufficient_scope");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task OtherAuthorizationDetailTypes_AreIgnored()
    {
        var other = new JsonObject { ["type"] = "payment_initiation", ["actions"] = new JsonArray("crm.customers:read"), ["resources"] = new JsonArray("crm:customer/ign") };
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/ign", Token(other));

        await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
    }

    [Fact]
    public async Task ResourceFromQuery_IsChecked()
    {
        var token = Token(ProxyTests.Grant("crm.customers:list", "crm:region/emea"));

        var allowed = await fixture.SendAsync(HttpMethod.Get, "/crm/customers?region=emea", token);
        var refused = await fixture.SendAsync(HttpMethod.Get, "/crm/customers?region=apac", token);
        var missing = await fixture.SendAsync(HttpMethod.Get, "/crm/customers", token);
        var twice = await fixture.SendAsync(HttpMethod.Get, "/crm/customers?region=emea&region=apac", token);
        var slash = await fixture.SendAsync(HttpMethod.Get, "/crm/customers?region=emea%2F..%2Fapac", token);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        await ProblemAssert.IsProblemAsync(refused, 403, "insufficient_scope");
        await ProblemAssert.IsProblemAsync(missing, 400, "invalid_request");
        await ProblemAssert.IsProblemAsync(twice, 400, "invalid_request");
        await ProblemAssert.IsProblemAsync(slash, 400, "invalid_request");
    }

    [Fact]
    public async Task ResourceFromHeader_IsChecked()
    {
        var claims = fixture.Issuer.Claims();
        claims["authorization_details"] = new JsonArray(ProxyTests.Grant("payments.transfers:create", "payments:account/acc-1"));
        claims["cap"] = new JsonObject { ["intent"] = new JsonObject { ["method"] = "explicit" } };
        var token = fixture.Issuer.Mint(claims);

        var allowed = await fixture.SendAsync(HttpMethod.Post, "/payments/transfers", token, r => r.Headers.Add("X-Account-Id", "acc-1"));
        var refused = await fixture.SendAsync(HttpMethod.Post, "/payments/transfers", token, r => r.Headers.Add("X-Account-Id", "acc-2"));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        await ProblemAssert.IsProblemAsync(refused, 403, "insufficient_scope");
    }
}
