using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// The support MCP server and the SDK's client on their own, no gateway between them: proves
/// the parts the gateway tests rely on, on each protocol generation the SDK speaks.
/// </summary>
public sealed class SupportServerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task ListTools_Direct_ListsEveryTool(string version)
    {
        await using var server = await SupportServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, version);

        var tools = await client.Client.ListToolsAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(["close_ticket", "create_ticket", "export_queue", "get_ticket"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(version, client.Client.NegotiatedProtocolVersion);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_Direct_CreatesThenReadsTicket(string version)
    {
        await using var server = await SupportServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, version);

        var created = await client.Client.CallToolAsync("create_ticket", new Dictionary<string, object?> { ["queue"] = "billing", ["title"] = "Charged twice" }).AsTask().WaitAsync(Patience);
        var id = JsonDocument.Parse(Text(created)).RootElement.GetProperty("id").GetString()!;
        var read = await client.Client.CallToolAsync("get_ticket", new Dictionary<string, object?> { ["id"] = id }).AsTask().WaitAsync(Patience);

        Assert.NotEqual(true, read.IsError);
        var ticket = JsonDocument.Parse(Text(read)).RootElement;
        Assert.Equal("billing", ticket.GetProperty("queue").GetString());
        Assert.Equal("Charged twice", ticket.GetProperty("title").GetString());
        Assert.Equal(2, server.Desk.ToolCalls.Count);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task CallTool_Direct_ProgressArrivesWhileTheCallRuns(string version)
    {
        var progress = new GatedProgress();
        await using var server = await SupportServer.StartAsync(progress.Desk());
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, version);

        var result = await client.Client.CallToolAsync("export_queue", new Dictionary<string, object?> { ["queue"] = "billing", ["steps"] = 3 }, progress).AsTask().WaitAsync(Patience);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal([1.0, 2.0, 3.0], progress.Steps);
    }

    [Theory]
    [MemberData(nameof(McpTestClient.Versions), MemberType = typeof(McpTestClient))]
    public async Task ResourcesAndPrompts_Direct_AreServed(string version)
    {
        await using var server = await SupportServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, version);

        var article = await client.Client.ReadResourceAsync("support://kb/refunds").AsTask().WaitAsync(Patience);
        var prompt = await client.Client.GetPromptAsync("triage", new Dictionary<string, object?> { ["ticket_id"] = "T-1001" }).AsTask().WaitAsync(Patience);

        Assert.Contains("Refunds", Assert.IsType<TextResourceContents>(Assert.Single(article.Contents)).Text, StringComparison.Ordinal);
        Assert.Contains("T-1001", Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wire_SessionGeneration_InitializesAndCarriesTheSessionId()
    {
        await using var server = await SupportServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, McpTestClient.Sessions);
        await client.Client.ListToolsAsync().AsTask().WaitAsync(Patience);

        var initialize = Assert.Single(client.Wire.Posts("initialize"));
        var session = initialize.ResponseHeaders["Mcp-Session-Id"];
        var list = Assert.Single(client.Wire.Posts("tools/list"));
        Assert.Equal(session, list.RequestHeaders["Mcp-Session-Id"]);
        Assert.Equal(McpTestClient.Sessions, list.RequestHeaders["MCP-Protocol-Version"]);
        Assert.Equal(session, client.Client.SessionId);
    }

    [Fact]
    public async Task Wire_StatelessGeneration_NamesEveryRequestInHeaders()
    {
        await using var server = await SupportServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, McpTestClient.Stateless);
        await client.Client.CallToolAsync("get_ticket", new Dictionary<string, object?> { ["id"] = "T-1" }).AsTask().WaitAsync(Patience);

        Assert.Empty(client.Wire.Posts("initialize"));
        var call = Assert.Single(client.Wire.Posts("tools/call"));
        Assert.Equal("tools/call", call.RequestHeaders["Mcp-Method"]);
        Assert.Equal("get_ticket", call.RequestHeaders["Mcp-Name"]);
        Assert.False(call.RequestHeaders.ContainsKey("Mcp-Session-Id"));
        Assert.False(call.ResponseHeaders.ContainsKey("Mcp-Session-Id"));
    }

    internal static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
}
