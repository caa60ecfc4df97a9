using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Testing;
using ModelContextProtocol;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// The SDK's own client driving the support MCP server through a gateway MCP route (per-tool
/// decisions), on each protocol generation: what an agent sees and what reaches the server.
/// </summary>
public sealed class McpGatewayTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task ToolsList_ThroughGateway_ListsOnlyTheToolsTheTokenMayCall(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.SupportAgent));

        var tools = await client.Client.ListToolsAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(["create_ticket", "get_ticket"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_Granted_IsForwardedWithoutTheToken(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token(McpGateway.SupportAgent);
        await using var client = await mcp.ConnectAsync(version, token);

        var created = await client.Client.CallToolAsync("create_ticket", new Dictionary<string, object?> { ["queue"] = "billing", ["title"] = "Charged twice" }).AsTask().WaitAsync(Patience);

        Assert.NotEqual(true, created.IsError);
        Assert.Equal("billing", JsonDocument.Parse(SupportServerTests.Text(created)).RootElement.GetProperty("queue").GetString());
        Assert.Equal(1, mcp.Server.Desk.CallsOf("create_ticket"));
        Assert.All(mcp.Server.Desk.Requests, r => Assert.False(r.Headers.ContainsKey("Authorization")));
        var call = mcp.Server.Desk.Requests.Last(r => r.Method == "POST");
        Assert.Equal("user:alice", call.Headers["Gateway-Subject"]);
        Assert.Equal("agent:planner", call.Headers["Gateway-Agent"]);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_ToolNotGranted_IsRefusedWithTheScopeChallengeAndNotForwarded(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.SupportAgent));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.Client.CallToolAsync("close_ticket", new Dictionary<string, object?> { ["id"] = "T-1001", ["reason"] = "done" }).AsTask().WaitAsync(Patience));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var exchange = client.Wire.Posts("tools/call").Single();
        Assert.Equal("insufficient_scope", exchange.ProblemError);
        Assert.Contains("scope=\"support.tickets:close\"", exchange.ResponseHeaders["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Contains("resource_metadata=", exchange.ResponseHeaders["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(0, mcp.Server.Desk.CallsOf("close_ticket"));
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_ArgumentOutsideTheGrant_IsRefusedAndNotForwarded(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.SupportAgent));

        // create_ticket is granted in the billing queue only.
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.Client.CallToolAsync("create_ticket", new Dictionary<string, object?> { ["queue"] = "shipping", ["title"] = "Lost parcel" }).AsTask().WaitAsync(Patience));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("insufficient_scope", client.Wire.Posts("tools/call").Single().ProblemError);
        Assert.Equal(0, mcp.Server.Desk.CallsOf("create_ticket"));
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_ToolTheRouteDoesNotList_IsAJsonRpcErrorAndTheSessionGoesOn(string version)
    {
        await using var mcp = await McpGateway.StartAsync(policy: McpGateway.Policy.Replace(
            "        export_queue:  { action: support.tickets:export, resource: \"support:queue/{args.queue}\", tier: low }\n", "", StringComparison.Ordinal));
        await using var client = await mcp.ConnectAsync(version, mcp.Token([.. McpGateway.SupportAgent, ("support.tickets:export", "support:queue/*")]));

        var refused = await Assert.ThrowsAsync<McpProtocolException>(() =>
            client.Client.CallToolAsync("export_queue", new Dictionary<string, object?> { ["queue"] = "billing" }).AsTask().WaitAsync(Patience));
        var after = await client.Client.CallToolAsync("get_ticket", new Dictionary<string, object?> { ["id"] = "T-1" }).AsTask().WaitAsync(Patience);

        Assert.Equal(-32001, (int)refused.ErrorCode);
        Assert.Equal("tool_not_allowed", refused.Data["error"]);
        Assert.Matches("^[0-9a-f]{32}$", (string)refused.Data["decision_id"]!);
        Assert.Equal(0, mcp.Server.Desk.CallsOf("export_queue"));
        Assert.Equal(1, mcp.Server.Desk.CallsOf("get_ticket"));
        Assert.NotNull(after);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_StepBudgetExhaustedMidSession_IsAJsonRpcErrorAndListingStillWorks(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token(McpGateway.SupportAgent, edit: claims => claims["cap"] = new System.Text.Json.Nodes.JsonObject { ["max_steps"] = 2 });
        await using var client = await mcp.ConnectAsync(version, token);
        var get = new Dictionary<string, object?> { ["id"] = "T-1" };

        await client.Client.CallToolAsync("get_ticket", get).AsTask().WaitAsync(Patience);
        await client.Client.CallToolAsync("get_ticket", get).AsTask().WaitAsync(Patience);
        var refused = await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("get_ticket", get).AsTask().WaitAsync(Patience));
        var tools = await client.Client.ListToolsAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(-32001, (int)refused.ErrorCode);
        Assert.Equal("step_limit_exceeded", refused.Data["error"]);
        Assert.Equal(2, mcp.Server.Desk.CallsOf("get_ticket"));
        Assert.NotEmpty(tools);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_NeedingApproval_IsForwardedOnceAfterAnAdminApproves(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token([.. McpGateway.SupportAgent, ("support.tickets:close", "support:ticket/*")]);
        await using var client = await mcp.ConnectAsync(version, token);
        var close = new Dictionary<string, object?> { ["id"] = "T-1001", ["reason"] = "refunded" };

        var pending = await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("close_ticket", close).AsTask().WaitAsync(Patience));
        Assert.Equal("approval_required", pending.Data["error"]);
        var approvalId = (string)pending.Data["approval_id"]!;
        Assert.False(string.IsNullOrEmpty((string?)pending.Data["approval_url"]));
        Assert.Equal(0, mcp.Server.Desk.CallsOf("close_ticket"));

        var approved = await mcp.Gateway.AdminSendAsync(HttpMethod.Post, $"/approvals/{approvalId}/approve", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.True(approved.IsSuccessStatusCode, await approved.Content.ReadAsStringAsync());

        var retried = await client.Client.CallToolAsync("close_ticket", close).AsTask().WaitAsync(Patience);
        var again = await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("close_ticket", close).AsTask().WaitAsync(Patience));

        Assert.NotNull(retried);
        Assert.Equal(1, mcp.Server.Desk.CallsOf("close_ticket"));
        Assert.Equal("approval_required", again.Data["error"]);
        Assert.NotEqual(approvalId, again.Data["approval_id"]);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_DpopBoundToken_NeedsAFreshProofOnEveryRequest(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        using var key = TestDpopKey.Create();
        var token = mcp.Token(McpGateway.SupportAgent, edit: claims => claims["cnf"] = new System.Text.Json.Nodes.JsonObject { ["jkt"] = key.Thumbprint });
        var endpoint = mcp.Endpoint.ToString();
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, version, request =>
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"DPoP {token}");
            request.Headers.TryAddWithoutValidation("DPoP", key.Proof(request.Method.Method, endpoint, token));
        });

        var read = await client.Client.CallToolAsync("get_ticket", new Dictionary<string, object?> { ["id"] = "T-1" }).AsTask().WaitAsync(Patience);
        Assert.NotNull(read);
        Assert.Equal(1, mcp.Server.Desk.CallsOf("get_ticket"));

        // The same token as a plain bearer token, without a proof, opens nothing.
        var bearer = await Assert.ThrowsAsync<HttpRequestException>(() => mcp.ConnectAsync(version, token).WaitAsync(Patience));
        Assert.Equal(HttpStatusCode.Unauthorized, bearer.StatusCode);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_StreamingTool_ProgressReachesTheAgentWhileTheCallRuns(string version)
    {
        var progress = new GatedProgress();
        await using var mcp = await McpGateway.StartAsync(progress.Desk());
        await using var client = await mcp.ConnectAsync(version, mcp.Token([("support.tickets:export", "support:queue/billing")]));

        var result = await client.Client.CallToolAsync("export_queue", new Dictionary<string, object?> { ["queue"] = "billing", ["steps"] = 3 }, progress).AsTask().WaitAsync(Patience);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal([1.0, 2.0, 3.0], progress.Steps);
    }

    [Fact]
    public async Task Session_UsedWithAnotherSubjectsToken_IsRefusedAndNotForwarded()
    {
        await using var mcp = await McpGateway.StartAsync();
        await using var alice = await mcp.ConnectAsync(McpTestClient.Sessions, mcp.Token(McpGateway.SupportAgent));
        await alice.Client.ListToolsAsync().AsTask().WaitAsync(Patience);
        var posts = mcp.Server.Desk.Requests.Count;

        var hijack = await PostAsync(mcp, mcp.Token(McpGateway.SupportAgent, sub: "user:mallory"), alice.Client.SessionId!,
            """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1"}}}""");
        var otherAgent = await PostAsync(mcp, mcp.Token(McpGateway.SupportAgent, agent: "agent:intruder"), alice.Client.SessionId!,
            """{"jsonrpc":"2.0","id":8,"method":"tools/list"}""");

        await ProblemAssert.IsProblemAsync(hijack, 403, "session_mismatch");
        await ProblemAssert.IsProblemAsync(otherAgent, 403, "session_mismatch");
        Assert.Equal(posts, mcp.Server.Desk.Requests.Count);
        Assert.NotEmpty(await alice.Client.ListToolsAsync().AsTask().WaitAsync(Patience));
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task Revocation_OfTheAgent_CutsAnOpenSessionOff(string version)
    {
        await using var mcp = await McpGateway.StartAsync();
        await using var client = await mcp.ConnectAsync(version, mcp.Token(McpGateway.SupportAgent));
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

    private static Task<HttpResponseMessage> PostAsync(McpGateway mcp, string token, string sessionId, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, McpGateway.Path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.TryAddWithoutValidation("Mcp-Session-Id", sessionId);
        request.Headers.TryAddWithoutValidation("MCP-Protocol-Version", McpTestClient.Sessions);
        return mcp.Gateway.Client.SendAsync(request);
    }
}
