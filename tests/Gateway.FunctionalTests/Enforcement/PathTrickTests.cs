using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

/// <summary>The path whose resource is checked is the path forwarded: tricks are refused, never forwarded.</summary>
public sealed class PathTrickTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Theory]
    [InlineData("/crm/customers/42/../43")]
    [InlineData("/crm/customers/42/./43")]
    [InlineData("/crm/customers/42%2F..%2F43")]
    [InlineData("/crm/customers/42%2f43")]
    [InlineData("/crm/customers/%2E%2E/43")]
    [InlineData("/crm/customers/%2e/43")]
    [InlineData("/crm//customers/43")]
    [InlineData("/crm/customers//43")]
    [InlineData("/crm/customers/42%5C..%5C43")]
    [InlineData("/crm/customers/42\\..\\43")]
    [InlineData("/crm/customers/42%00")]
    [InlineData("/crm/customers/42%252F43")]
    [InlineData("/crm/customers/42%zz")]
    public async Task PathTrick_IsRefused_AndNeverForwarded(string target)
    {
        var before = fixture.Upstream.Received.Count;
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/**"));

        var response = await RawHttp.GetAsync(fixture.Gateway.Address, target, "Bearer " + token);

        Assert.InRange(response.Status, 400, 404);
        Assert.DoesNotContain(fixture.Upstream.Received.Skip(before), r => r.Path.Contains("43", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AbsoluteFormTarget_IsRefused()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/**"));

        var response = await RawHttp.GetAsync(fixture.Gateway.Address, "http://127.0.0.1/crm/customers/abs-1", "Bearer " + token);

        Assert.Equal(400, response.Status);
        Assert.Equal(0, fixture.ForwardedCount("abs-1"));
    }

    [Fact]
    public async Task PercentEncodedUnicodeId_IsAllowedAndForwardedAsChecked()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/zoë"));

        var response = await RawHttp.GetAsync(fixture.Gateway.Address, "/crm/customers/zo%C3%AB", "Bearer " + token);

        Assert.Equal(200, response.Status);
        Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/customers/zoë");
    }
}
