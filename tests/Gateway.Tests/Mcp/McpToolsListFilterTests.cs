using System.Text;
using System.Text.Json;
using Gateway.Mcp;

namespace Gateway.Tests.Mcp;

public sealed class McpToolsListFilterTests
{
    private const string Listing = """
        {"jsonrpc":"2.0","id":3,"result":{"tools":[
          {"name":"create_ticket","description":"Opens a ticket — “quoted”","inputSchema":{"type":"object"}},
          {"name":"get_ticket","inputSchema":{"type":"object","properties":{"id":{"type":"string","x-mcp-header":"Id"}}}},
          {"name":"close_ticket","inputSchema":{"type":"object"}}
        ],"nextCursor":"c2","_meta":{"k":1}}}
        """;

    private static McpToolsListFilterOptions Allow(params string[] tools) => new() { Allow = tools.Contains };

    private static JsonElement Parse(byte[] body) => JsonDocument.Parse(body).RootElement;

    [Fact]
    public void FilterJson_RemovesUngrantedToolsAndKeepsTheRestByteForByte()
    {
        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), Allow("create_ticket", "close_ticket"));

        Assert.Equal(McpFilterOutcome.Filtered, result.Outcome);
        Assert.Equal(1, result.Removed);
        var text = Encoding.UTF8.GetString(result.Body!);
        Assert.Contains("""{"name":"create_ticket","description":"Opens a ticket — “quoted”","inputSchema":{"type":"object"}}""", text, StringComparison.Ordinal);
        Assert.Contains("""],"nextCursor":"c2","_meta":{"k":1}}}""", text, StringComparison.Ordinal);
        Assert.DoesNotContain("get_ticket", text, StringComparison.Ordinal);
        var root = Parse(result.Body!);
        Assert.Equal(3, root.GetProperty("id").GetInt32());
        Assert.Equal(["create_ticket", "close_ticket"], root.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("c2", root.GetProperty("result").GetProperty("nextCursor").GetString());
    }

    [Theory]
    [InlineData(new string[0], new string[0])]
    [InlineData(new[] { "get_ticket" }, new[] { "get_ticket" })]
    [InlineData(new[] { "close_ticket" }, new[] { "close_ticket" })]
    [InlineData(new[] { "create_ticket", "get_ticket" }, new[] { "create_ticket", "get_ticket" })]
    public void FilterJson_AnySubset_IsValidJsonWithExactlyThoseTools(string[] allowed, string[] expected)
    {
        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), Allow(allowed));

        var tools = Parse(result.Body!).GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString());
        Assert.Equal(expected, tools);
    }

    [Fact]
    public void FilterJson_EverythingAllowed_IsUnchanged()
    {
        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), Allow("create_ticket", "get_ticket", "close_ticket"));

        Assert.Equal(McpFilterOutcome.Unchanged, result.Outcome);
        Assert.Null(result.Body);
    }

    [Fact]
    public void FilterJson_ReportsEveryToolDefinitionForTheSchemaCache()
    {
        var cache = new McpToolHeaderCache();
        var options = new McpToolsListFilterOptions { Allow = _ => false, OnTool = (name, tool) => cache.Observe("r", name, tool) };

        McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), options);

        Assert.Equal(3, cache.Count);
        Assert.Equal("Mcp-Param-Id", cache.Find("r", "get_ticket")!.Headers.Single().HeaderName);
    }

    [Fact]
    public void FilterJson_OnlyTheListRequestsIdsAreFiltered()
    {
        const string batch = """[{"jsonrpc":"2.0","id":"t","result":{"tools":[{"name":"a"},{"name":"b"}]}},{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a"},{"name":"b"}]}}]""";

        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(batch), new McpToolsListFilterOptions { Allow = n => n == "a", ResponseIds = ["\"\\u0074\""] });

        Assert.Equal("""[{"jsonrpc":"2.0","id":"t","result":{"tools":[{"name":"a"}]}},{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a"},{"name":"b"}]}}]""", Encoding.UTF8.GetString(result.Body!));
    }

    [Fact]
    public void FilterJson_NumericIdsMatchAsNumbers()
    {
        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), new McpToolsListFilterOptions { Allow = _ => false, ResponseIds = ["3.0"] });
        var stringId = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), new McpToolsListFilterOptions { Allow = _ => false, ResponseIds = ["\"3\""] });

        Assert.Equal(McpFilterOutcome.Filtered, result.Outcome);
        Assert.Equal(McpFilterOutcome.Unchanged, stringId.Outcome);
    }

    [Fact]
    public void FilterJson_ToolWithoutAReadableName_IsNotShown()
    {
        const string body = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"title":"no name"},{"name":7},"odd",{"name":"\ud800"}]}}""";

        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(body), new McpToolsListFilterOptions { Allow = _ => true });

        Assert.Equal(4, result.Removed);
        Assert.Equal("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}""", Encoding.UTF8.GetString(result.Body!));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}],"tools":[{"name":"b"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","name":"b"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":{"name":"a"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}""")]
    [InlineData("""not json""")]
    [InlineData("""42""")]
    public void FilterJson_AnswerItCannotReadSafely_IsRefused(string body)
    {
        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(body), Allow("a"));

        Assert.Equal(McpFilterOutcome.Refused, result.Outcome);
        Assert.False(string.IsNullOrEmpty(result.Reason));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"tools"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{"tools":[{"name":"b"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}""")]
    public void FilterJson_AnswerWithoutAToolList_IsUnchanged(string body)
    {
        Assert.Equal(McpFilterOutcome.Unchanged, McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(body), Allow()).Outcome);
    }

    [Fact]
    public void FilterJson_OverTheSizeBound_IsRefused()
    {
        var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(Listing), new McpToolsListFilterOptions { Allow = _ => true, MaxBytes = 100 });

        Assert.Equal(McpFilterOutcome.Refused, result.Outcome);
    }
}
