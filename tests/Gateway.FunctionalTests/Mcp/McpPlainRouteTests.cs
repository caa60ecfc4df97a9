using System.Net;
using System.Text;
using Gateway.Testing;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// The SDK's client and the support MCP server through the gateway on a plain route (one action
/// for the whole server): the streamable HTTP transport itself, on both generations, passes the
/// real proxy: SSE progress event by event, sessions, DPoP proofs per request, and a revocation
/// that cuts an open session off.
/// </summary>
public sealed class McpPlainRouteTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_ThroughGateway_IsForwardedWithTheCallersIdentityAndWithoutTheToken(string version)
    {
        await using var mcp = await McpGateway.StartAsync(policy: McpGateway.PlainRoutePolicy);
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.WholeServer));

        var created = await client.Client.CallToolAsync("create_ticket", new Dictionary<string, object?> { ["queue"] = "billing", ["title"] = "Charged twice" }).AsTask().WaitAsync(Patience);

        Assert.NotEqual(true, created.IsError);
        Assert.Equal(1, mcp.Server.Desk.CallsOf("create_ticket"));
        Assert.All(mcp.Server.Desk.Requests, r => Assert.False(r.Headers.ContainsKey("Authorization")));
        var call = mcp.Server.Desk.Requests.Last(r => r.Method == "POST");
        Assert.Equal("user:alice", call.Headers["Gateway-Subject"]);
        Assert.Equal("agent:planner", call.Headers["Gateway-Agent"]);
        Assert.Matches("^[0-9a-f]{32}$", call.Headers["Gateway-Decision-Id"]);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_StreamingTool_ProgressReachesTheAgentWhileTheCallRuns(string version)
    {
        var progress = new GatedProgress();
        await using var mcp = await McpGateway.StartAsync(progress.Desk(), McpGateway.PlainRoutePolicy);
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.WholeServer));

        var result = await client.Client.CallToolAsync("export_queue", new Dictionary<string, object?> { ["queue"] = "billing", ["steps"] = 3 }, progress).AsTask().WaitAsync(Patience);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal([1.0, 2.0, 3.0], progress.Steps);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task Session_DpopBoundToken_NeedsAFreshProofOnEveryRequest(string version)
    {
        await using var mcp = await McpGateway.StartAsync(policy: McpGateway.PlainRoutePolicy);
        using var key = TestDpopKey.Create();
        var token = mcp.Token(McpGateway.WholeServer, edit: claims => claims["cnf"] = new System.Text.Json.Nodes.JsonObject { ["jkt"] = key.Thumbprint });
        var endpoint = mcp.Endpoint.ToString();
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, version, request =>
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"DPoP {token}");
            request.Headers.TryAddWithoutValidation("DPoP", key.Proof(request.Method.Method, endpoint, token));
        });

        await client.Client.ListToolsAsync().AsTask().WaitAsync(Patience);
        await client.Client.CallToolAsync("get_ticket", new Dictionary<string, object?> { ["id"] = "T-1" }).AsTask().WaitAsync(Patience);
        var bearer = await Assert.ThrowsAsync<HttpRequestException>(() => mcp.ConnectAsync(version, token).WaitAsync(Patience));

        Assert.Equal(1, mcp.Server.Desk.CallsOf("get_ticket"));
        Assert.All(client.Wire.Exchanges, e => Assert.True(e.Status is >= 200 and < 300, $"{e.Method} answered {e.Status}"));
        Assert.Equal(HttpStatusCode.Unauthorized, bearer.StatusCode);
        Assert.All(mcp.Server.Desk.Requests, r => Assert.False(r.Headers.ContainsKey("DPoP")));
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task Session_AgentRevoked_IsCutOffAtTheNextRequest(string version)
    {
        await using var mcp = await McpGateway.StartAsync(policy: McpGateway.PlainRoutePolicy);
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.WholeServer));
        var get = new Dictionary<string, object?> { ["id"] = "T-1" };
        await client.Client.CallToolAsync("get_ticket", get).AsTask().WaitAsync(Patience);

        var revoked = await mcp.Gateway.AdminSendAsync(HttpMethod.Post, "/revocations",
            new StringContent("""{"agent":"agent:planner","reason":"test: the planner misbehaves"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, revoked.StatusCode);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.Client.CallToolAsync("get_ticket", get).AsTask().WaitAsync(Patience));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("invalid_token", client.Wire.Posts("tools/call")[^1].ProblemError);
        Assert.Equal(1, mcp.Server.Desk.CallsOf("get_ticket"));
    }
}
