using System.Net.Http.Json;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

/// <summary>The admin listener's problems have the proxy's shape: RFC 9457 <c>title</c> included, and one code reads the same on both.</summary>
public sealed class AdminProblemTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task AdminProblems_CarryATitle_TheProxysForTheSameCode()
    {
        var unauthorized = await fixture.Gateway.Admin.GetAsync(new Uri("/revocations", UriKind.Relative));
        var badBody = await fixture.Gateway.AdminSendAsync(HttpMethod.Post, "/revocations", JsonContent.Create(new { reason = "no target" }));
        var unknown = await fixture.Gateway.AdminSendAsync(HttpMethod.Get, "/approvals/apr_unknown");
        var proxyInvalid = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/a%2Fb", token: null);

        Assert.Equal("Unauthorized", await TitleAsync(unauthorized, 401, "unauthorized"));
        Assert.Equal("Invalid request", await TitleAsync(badBody, 400, "invalid_request"));
        Assert.Equal("Approval not found", await TitleAsync(unknown, 404, "approval_not_found"));
        Assert.Equal("Invalid request", await TitleAsync(proxyInvalid, 400, "invalid_request"));
    }

    private static async Task<string?> TitleAsync(HttpResponseMessage response, int status, string error)
    {
        var body = await ProblemAssert.IsProblemAsync(response, status, error);
        Assert.Equal(JsonValueKind.String, body.GetProperty("title").ValueKind);
        return body.GetProperty("title").GetString();
    }
}
