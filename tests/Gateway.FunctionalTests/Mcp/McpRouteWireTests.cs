using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// An MCP route on the wire, with raw HTTP where the SDK's client would never send such a request: headers that
/// disagree with the body, batches, hostile JSON-RPC, browser origins, the RFC 9728 document and the audit event.
/// Every refusal is checked not to have reached the MCP server.
/// </summary>
public sealed class McpRouteWireTests
{
    private const string GetTicket = """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1"}}}""";

    // What the support server needs of a stateless (2026-07-28) request besides the call itself.
    private const string Meta = """
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"wire-test","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}
        """;

    [Fact]
    public async Task Post_McpMethodHeaderDisagreesWithTheBody_Is400HeaderMismatchAndNotForwarded()
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token(McpGateway.SupportAgent);

        using var response = await PostAsync(mcp, token, GetTicket, request => request.Headers.TryAddWithoutValidation("Mcp-Method", "tools/list"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32020, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(7, answer.RootElement.GetProperty("id").GetInt32());
        Assert.Empty(mcp.Server.Desk.Requests);
    }

    [Fact]
    public async Task Post_BatchWithARefusedMessage_NothingIsForwarded_AndEachRequestIsAnswered()
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token(McpGateway.SupportAgent);

        using var response = await PostAsync(mcp, token, """
            [{"jsonrpc":"2.0","id":1,"method":"ping"},
             {"jsonrpc":"2.0","method":"notifications/initialized"},
             {"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"delete_everything","arguments":{}}}]
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var answers = answer.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, answers.Count);
        Assert.Equal(1, answers[0].GetProperty("id").GetInt32());
        Assert.Equal("invalid_request", answers[0].GetProperty("error").GetProperty("data").GetProperty("error").GetString());
        Assert.Contains("another message of this batch was refused", answers[0].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("b", answers[1].GetProperty("id").GetString());
        Assert.Equal("tool_not_allowed", answers[1].GetProperty("error").GetProperty("data").GetProperty("error").GetString());
        Assert.Empty(mcp.Server.Desk.Requests);
    }

    [Fact]
    public async Task Post_BatchWithTwoCharged_IsRefusedWhole_AndChargesNothing()
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token(McpGateway.SupportAgent, edit: claims => claims["cap"] = new System.Text.Json.Nodes.JsonObject { ["max_steps"] = 1 });

        using var batch = await PostAsync(mcp, token, $"[{GetTicket},{GetTicket.Replace("\"id\":7", "\"id\":8", StringComparison.Ordinal)}]");
        var text = await batch.Content.ReadAsStringAsync();
        Assert.Equal(2, Regex(text, "\"decision_id\""));
        Assert.Equal(4, Regex(text, "A batch may carry at most one tools/call"));
        Assert.Empty(mcp.Server.Desk.Requests);

        // The one step the token has is still there.
        using var single = await PostStatelessAsync(mcp, token, "get_ticket", """{"id":"T-1"}""");
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal("0", single.Headers.GetValues("Gateway-Steps-Remaining").Single());
        Assert.Single(mcp.Server.Desk.Requests);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1"}}}""", -32700)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["get_ticket"]}""", -32600)]
    [InlineData("""{"jsonrpc":"2.0","id":{"a":1},"method":"tools/call","params":{"name":"get_ticket"}}""", -32600)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"get_ticket","arguments":{"id":"T-1"}}}""", -32600)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"name":"get_ticket"},"arguments":{"id":"T-1"}}}""", -32602)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1"}""", -32700)]
    public async Task Post_HostileJsonRpc_GetsAJsonRpcErrorAndIsNotForwarded(string body, int code)
    {
        await using var mcp = await McpGateway.StartAsync();

        using var response = await PostAsync(mcp, mcp.Token(McpGateway.SupportAgent), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(mcp.Server.Desk.Requests);
    }

    [Fact]
    public async Task Post_DeepNestingAndHugeBodies_AreRefusedAndNotForwarded()
    {
        await using var mcp = await McpGateway.StartAsync();
        var token = mcp.Token(McpGateway.SupportAgent);
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);

        using var nested = await PostAsync(mcp, token, """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1","x":""" + deep + "}}}");
        using var huge = await PostAsync(mcp, token, """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":""" + "\"" + new string('a', 10 * 1024 * 1024) + "\"}}}");

        Assert.Equal(HttpStatusCode.BadRequest, nested.StatusCode);
        Assert.Contains("deeper than", await nested.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(huge, 413, "request_too_large");
        Assert.Empty(mcp.Server.Desk.Requests);
    }

    [Fact]
    public async Task Post_ToolNameSmuggledInMeta_IsDecidedOnParamsName()
    {
        await using var mcp = await McpGateway.StartAsync();

        // get_ticket is granted, close_ticket is not: the call is what params.name says, whatever _meta claims.
        using var response = await PostAsync(mcp, mcp.Token(McpGateway.SupportAgent),
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"close_ticket","arguments":{"id":"T-1","reason":"x"},"_meta":{"name":"get_ticket","tool":"get_ticket"}}}""");

        await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
        Assert.Empty(mcp.Server.Desk.Requests);
    }

    [Theory]
    [InlineData("https://evil.example", true)]
    [InlineData("null", true)]
    [InlineData("http://localhost:3000", false)]
    [InlineData("http://127.0.0.1:8080", false)]
    [InlineData("https://app.example", false)]
    public async Task Post_FromABrowserOrigin_IsRefusedUnlessLoopbackOrAllowed(string origin, bool refused)
    {
        await using var mcp = await McpGateway.StartAsync(policy: McpGateway.Policy.Replace("    mcp:\n", "    mcp:\n      allowed_origins: [https://app.example]\n", StringComparison.Ordinal));

        using var response = await PostStatelessAsync(mcp, mcp.Token(McpGateway.SupportAgent), "get_ticket", """{"id":"T-1"}""", request => request.Headers.TryAddWithoutValidation("Origin", origin));

        if (refused)
        {
            await ProblemAssert.IsProblemAsync(response, 403, "origin_not_allowed");
            Assert.Empty(mcp.Server.Desk.Requests);
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Single(mcp.Server.Desk.Requests);
        }
    }

    [Fact]
    public async Task NoToken_Is401WithResourceMetadata_AndTheDocumentNamesTheRouteAndIssuers()
    {
        await using var mcp = await McpGateway.StartAsync();

        using var response = await PostAsync(mcp, token: null, GetTicket);
        await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        var challenge = response.Headers.WwwAuthenticate.ToString();
        var expected = new Uri(mcp.Gateway.Address, "/.well-known/oauth-protected-resource" + McpGateway.Path).ToString();
        Assert.Contains($"resource_metadata=\"{expected}\"", challenge, StringComparison.Ordinal);

        using var document = JsonDocument.Parse(await mcp.Gateway.Client.GetStringAsync(expected));
        var root = document.RootElement;
        Assert.Equal(new Uri(mcp.Gateway.Address, McpGateway.Path).ToString(), root.GetProperty("resource").GetString());
        Assert.Equal([mcp.Issuer.Issuer], root.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("support.tickets:create", root.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("ES256", root.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));

        using var unknown = await mcp.Gateway.Client.GetAsync("/.well-known/oauth-protected-resource/mcp/other");
        await ProblemAssert.IsProblemAsync(unknown, 404, "no_route");
    }

    [Fact]
    public async Task AllowedCall_AuditEvent_NamesTheMessage_ButNotItsArgumentValues()
    {
        await using var mcp = await McpGateway.StartAsync(policy: McpGateway.Policy + "\naudit:\n  file: audit/decisions.jsonl\n");
        const string Arguments = """{"note":"secret-note-4711","id":"T-1"}""";

        using var response = await PostStatelessAsync(mcp, mcp.Token(McpGateway.SupportAgent), "get_ticket", Arguments, id: "\"call-1\"");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();

        var line = await WaitForEventAsync(Path.Combine(mcp.Gateway.Directory, "audit", "decisions.jsonl"), decisionId);
        using var audit = JsonDocument.Parse(line);
        var member = audit.RootElement.GetProperty("mcp");
        Assert.Equal("tools/call", member.GetProperty("method").GetString());
        Assert.Equal("get_ticket", member.GetProperty("tool").GetString());
        Assert.Equal("\"call-1\"", member.GetProperty("id").GetString());
        var canonical = Encoding.UTF8.GetBytes("""{"id":"T-1","note":"secret-note-4711"}""");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(canonical)), member.GetProperty("arguments_sha256").GetString());
        Assert.Equal("support.tickets:read", audit.RootElement.GetProperty("action").GetString());
        Assert.Equal("support:ticket/T-1", audit.RootElement.GetProperty("resource").GetString());
        Assert.DoesNotContain("secret-note-4711", line, StringComparison.Ordinal);
    }

    private static int Regex(string text, string word) => System.Text.RegularExpressions.Regex.Count(text, System.Text.RegularExpressions.Regex.Escape(word));

    private static async Task<string> WaitForEventAsync(string file, string eventId)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (File.Exists(file))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                var text = await reader.ReadToEndAsync();
                var line = text.Split('\n').FirstOrDefault(l => l.Contains($"\"event_id\":\"{eventId}\"", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line;
                }
            }

            Assert.True(DateTime.UtcNow < until, $"no audit event {eventId} in {file} within 10 s");
            await Task.Delay(50);
        }
    }

    /// <summary>A 2026-07-28 tools/call as the SDK's client sends one: the headers and _meta keys that generation requires.</summary>
    private static Task<HttpResponseMessage> PostStatelessAsync(McpGateway mcp, string token, string tool, string arguments, Action<HttpRequestMessage>? edit = null, string id = "1") =>
        PostAsync(mcp, token, """{"jsonrpc":"2.0","id":""" + id + ""","method":"tools/call","params":{"name":""" + JsonSerializer.Serialize(tool) + ""","arguments":""" + arguments + "," + Meta + "}}", request =>
        {
            request.Headers.TryAddWithoutValidation("MCP-Protocol-Version", "2026-07-28");
            request.Headers.TryAddWithoutValidation("Mcp-Method", "tools/call");
            request.Headers.TryAddWithoutValidation("Mcp-Name", tool);
            edit?.Invoke(request);
        });

    private static Task<HttpResponseMessage> PostAsync(McpGateway mcp, string? token, string body, Action<HttpRequestMessage>? edit = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, McpGateway.Path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        edit?.Invoke(request);
        return mcp.Gateway.Client.SendAsync(request);
    }
}
