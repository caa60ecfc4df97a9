using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

public sealed class StepUpAndDelegationTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private JsonObject ExportClaims(string id)
    {
        var claims = fixture.Issuer.Claims(action: "crm.exports:create", resource: "crm:export/" + id);
        claims["acr"] = "urn:test:mfa";
        claims["auth_time"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
        return claims;
    }

    [Fact]
    public async Task StepUpRoute_WithFreshMfa_IsAllowed()
    {
        var response = await fixture.SendAsync(HttpMethod.Post, "/crm/exports/e1", fixture.Issuer.Mint(ExportClaims("e1")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task StepUpRoute_WithoutAcr_GetsRfc9470Challenge()
    {
        var claims = ExportClaims("e2");
        claims.Remove("acr");

        var response = await fixture.SendAsync(HttpMethod.Post, "/crm/exports/e2", fixture.Issuer.Mint(claims));

        await ProblemAssert.IsProblemAsync(response, 401, "insufficient_user_authentication");
        var challenge = ProblemAssert.Challenge(response);
        Assert.Contains("error=\"insufficient_user_authentication\"", challenge, StringComparison.Ordinal);
        Assert.Contains("acr_values=\"urn:test:mfa\"", challenge, StringComparison.Ordinal);
        Assert.Contains("max_age=300", challenge, StringComparison.Ordinal);
        Assert.Equal(0, fixture.ForwardedCount("/e2"));
    }

    [Fact]
    public async Task StepUpRoute_WithStaleAuthentication_IsRefused()
    {
        var claims = ExportClaims("e3");
        claims["auth_time"] = DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeSeconds();

        var response = await fixture.SendAsync(HttpMethod.Post, "/crm/exports/e3", fixture.Issuer.Mint(claims));

        await ProblemAssert.IsProblemAsync(response, 401, "insufficient_user_authentication");
    }

    [Fact]
    public async Task HighTier_NeedsExplicitIntent()
    {
        var claims = fixture.Issuer.Claims(action: "payments.transfers:create", resource: "payments:account/acc-9");

        var policyIntent = await fixture.SendAsync(HttpMethod.Post, "/payments/transfers", fixture.Issuer.Mint(claims), r => r.Headers.Add("X-Account-Id", "acc-9"));
        claims["cap"] = new JsonObject { ["intent"] = new JsonObject { ["method"] = "step_up", ["evidence"] = "sha256:" + new string('a', 64) } };
        var stepUpIntent = await fixture.SendAsync(HttpMethod.Post, "/payments/transfers", fixture.Issuer.Mint(claims), r => r.Headers.Add("X-Account-Id", "acc-9"));

        await ProblemAssert.IsProblemAsync(policyIntent, 401, "insufficient_user_authentication");
        Assert.Equal(HttpStatusCode.OK, stepUpIntent.StatusCode);
    }

    [Fact]
    public async Task CriticalTier_NeedsApproval()
    {
        var claims = fixture.Issuer.Claims(action: "crm.customers:delete", resource: "crm:customer/del-1");
        claims["cap"] = new JsonObject { ["intent"] = new JsonObject { ["method"] = "step_up" } };

        var response = await fixture.SendAsync(HttpMethod.Delete, "/crm/customers/del-1", fixture.Issuer.Mint(claims));

        await ProblemAssert.IsProblemAsync(response, 403, "approval_required");
        Assert.Equal(0, fixture.ForwardedCount("del-1"));
    }

    [Fact]
    public async Task DelegationDeeperThanPolicy_IsRefused()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/deep");
        claims["act"] = new JsonObject
        {
            ["sub"] = "agent:d",
            ["act"] = new JsonObject { ["sub"] = "agent:c", ["act"] = new JsonObject { ["sub"] = "agent:b", ["act"] = new JsonObject { ["sub"] = "agent:a" } } },
        };

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/deep", fixture.Issuer.Mint(claims));

        await ProblemAssert.IsProblemAsync(response, 403, "delegation_denied");
    }

    [Fact]
    public async Task DelegationWithinDepth_IsAllowed_AndTheOutermostActorIsTheAgent()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/chain-ok");
        claims["act"] = new JsonObject { ["sub"] = "agent:executor", ["act"] = new JsonObject { ["sub"] = "agent:planner" } };

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/chain-ok", fixture.Issuer.Mint(claims));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/customers/chain-ok");
        Assert.Equal("agent:executor", seen.Headers["Gateway-Agent"]);
    }

    [Fact]
    public async Task AgentTwiceInChain_IsRefused()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/cycle");
        claims["act"] = new JsonObject { ["sub"] = "agent:a", ["act"] = new JsonObject { ["sub"] = "agent:b", ["act"] = new JsonObject { ["sub"] = "agent:a" } } };

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/cycle", fixture.Issuer.Mint(claims));

        await ProblemAssert.IsProblemAsync(response, 403, "delegation_denied");
    }
}
