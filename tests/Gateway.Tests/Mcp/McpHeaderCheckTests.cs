using System.Text;
using System.Text.Json;
using Gateway.Mcp;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Mcp;

public sealed class McpHeaderCheckTests
{
    private const string Meta2026 = "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}";

    private static readonly string Call2026 = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":{"region":"us-west1","query":"SELECT 1","limit":42,"dry":true,"opts":{"tenant":"acme"}},""" + Meta2026 + """}}""";

    private static readonly JsonElement Schema = JsonDocument.Parse("""
        {"type":"object","properties":{
          "region":{"type":"string","x-mcp-header":"Region"},
          "query":{"type":"string"},
          "limit":{"type":"integer","x-mcp-header":"Limit"},
          "dry":{"type":"boolean","x-mcp-header":"Dry"},
          "opts":{"type":"object","properties":{"tenant":{"type":"string","x-mcp-header":"Tenant"}}}}}
        """).RootElement;

    private static McpToolHeaders Annotations()
    {
        Assert.True(McpToolHeaders.TryRead(Schema, out var headers, out var error), error);
        return headers;
    }

    private static McpHeaderMismatch? Check(string json, McpToolHeaders? tool, params (string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary.Append(name, value);
        }

        using var body = JsonRpcParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.True(body.IsValid, body.Error?.Reason ?? body.Messages.FirstOrDefault(m => m.Error is not null)?.Error?.Reason);
        return McpHeaderCheck.Check(dictionary, body, tool);
    }

    private static (string, string)[] Full2026(params (string, string)[] more) =>
        [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "execute_sql"),
         ("Mcp-Param-Region", "us-west1"), ("Mcp-Param-Limit", "42"), ("Mcp-Param-Dry", "true"), ("Mcp-Param-Tenant", "acme"), .. more];

    [Fact]
    public void Check_2026RequestWhoseHeadersMirrorTheBody_Agrees()
    {
        Assert.Null(Check(Call2026, Annotations(), Full2026()));
    }

    [Fact]
    public void Check_HeaderNamesAreCaseInsensitiveAndIntegersCompareNumerically()
    {
        Assert.Null(Check(Call2026, Annotations(),
            ("mcp-protocol-version", "2026-07-28"), ("MCP-METHOD", "tools/call"), ("mcp-name", "execute_sql"),
            ("mcp-param-region", "us-west1"), ("MCP-PARAM-LIMIT", "42.0"), ("Mcp-Param-Dry", "true"), ("Mcp-Param-Tenant", "acme")));
    }

    [Theory]
    [InlineData("Mcp-Method", "tools/list")]
    [InlineData("Mcp-Method", "Tools/Call")]
    [InlineData("Mcp-Name", "delete_all")]
    [InlineData("Mcp-Name", "EXECUTE_SQL")]
    [InlineData("MCP-Protocol-Version", "2025-11-25")]
    [InlineData("Mcp-Param-Region", "eu-west1")]
    [InlineData("Mcp-Param-Limit", "43")]
    [InlineData("Mcp-Param-Limit", "forty-two")]
    [InlineData("Mcp-Param-Dry", "True")]
    [InlineData("Mcp-Param-Tenant", "other")]
    [InlineData("Mcp-Name", "=?base64?!!!?=")]
    [InlineData("Mcp-Name", "=?base64?/w==?=")]
    public void Check_OneHeaderDisagreeing_IsAMismatchNamingIt(string header, string value)
    {
        var headers = Full2026().Where(h => !h.Item1.Equals(header, StringComparison.OrdinalIgnoreCase)).Append((header, value)).ToArray();

        var mismatch = Check(Call2026, Annotations(), headers);

        Assert.NotNull(mismatch);
        Assert.Equal(header, mismatch.Header, ignoreCase: true);
    }

    [Theory]
    [InlineData("Mcp-Method")]
    [InlineData("Mcp-Name")]
    [InlineData("MCP-Protocol-Version")]
    [InlineData("Mcp-Param-Region")]
    [InlineData("Mcp-Param-Tenant")]
    public void Check_2026RequestMissingARequiredHeader_IsAMismatch(string header)
    {
        var headers = Full2026().Where(h => h.Item1 != header).ToArray();

        var mismatch = Check(Call2026, Annotations(), headers);

        Assert.NotNull(mismatch);
        if (header != "MCP-Protocol-Version")
        {
            Assert.Equal(header, mismatch.Header);
        }
    }

    [Fact]
    public void Check_HeaderRepeated_IsAMismatch()
    {
        var mismatch = Check(Call2026, Annotations(), Full2026(("Mcp-Name", "execute_sql")));

        Assert.Equal("Mcp-Name", mismatch!.Header);
        Assert.Contains("more than once", mismatch.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_Base64SentinelName_IsDecodedBeforeComparing()
    {
        var json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"Hello, 世界",""" + Meta2026 + """}}""";
        var encoded = "=?base64?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("Hello, 世界")) + "?=";

        Assert.Null(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", encoded)));
        Assert.NotNull(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "Hello, ??")));
    }

    [Fact]
    public void Check_Base64SentinelParam_IsDecodedBeforeComparing()
    {
        var json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":{"region":" padded "},""" + Meta2026 + """}}""";

        Assert.Null(Check(json, Annotations(), ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "execute_sql"),
            ("Mcp-Param-Region", "=?base64?IHBhZGRlZCA=?=")));
    }

    [Fact]
    public void Check_ParamHeaderWithoutItsArgument_IsAMismatchAndNullArgumentExpectsNoHeader()
    {
        var json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":{"region":null},""" + Meta2026 + """}}""";
        (string, string)[] basic = [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "execute_sql")];

        Assert.Null(Check(json, Annotations(), basic));
        Assert.Equal("Mcp-Param-Region", Check(json, Annotations(), [.. basic, ("Mcp-Param-Region", "us-west1")])!.Header);
        Assert.Equal("Mcp-Param-Tenant", Check(json, Annotations(), [.. basic, ("Mcp-Param-Tenant", "acme")])!.Header);
    }

    [Fact]
    public void Check_UnknownSchema_LeavesParamHeadersToTheServerButStillChecksTheRest()
    {
        Assert.Null(Check(Call2026, null, Full2026(("Mcp-Param-Region", "anything"))[..3]));
        Assert.Null(Check(Call2026, null, [.. Full2026()[..3], ("Mcp-Param-Region", "anything")]));
        Assert.Equal("Mcp-Name", Check(Call2026, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "x"))!.Header);
    }

    [Fact]
    public void Check_UnannotatedParamHeaderOfAKnownTool_IsForwardedAsTheSpecAsks()
    {
        Assert.Null(Check(Call2026, Annotations(), Full2026(("Mcp-Param-Query", "whatever"))));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("2025-03-26")]
    [InlineData("2025-06-18")]
    [InlineData("2025-11-25")]
    public void Check_2025RequestWithoutHeaders_Agrees(string? version)
    {
        const string json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":{"region":"us-west1"}}}""";
        (string, string)[] headers = version is null ? [] : [("MCP-Protocol-Version", version)];

        Assert.Null(Check(json, Annotations(), headers));
    }

    [Fact]
    public void Check_2025RequestWithHeadersAsTheSdkSendsThem_MustAgree()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1"}}}""";

        Assert.Null(Check(json, null, ("MCP-Protocol-Version", "2025-11-25"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "get_ticket")));
        Assert.Equal("Mcp-Name", Check(json, null, ("MCP-Protocol-Version", "2025-11-25"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "close_ticket"))!.Header);
        Assert.Equal("Mcp-Method", Check(json, null, ("Mcp-Method", "tools/list"))!.Header);
    }

    [Fact]
    public void Check_BodyClaims2026WithoutOrAgainstTheVersionHeader_IsAMismatch()
    {
        var json = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{""" + Meta2026 + """}}""";

        Assert.Equal("MCP-Protocol-Version", Check(json, null, ("Mcp-Method", "tools/list"))!.Header);
        Assert.Equal("MCP-Protocol-Version", Check(json, null, ("MCP-Protocol-Version", "2025-11-25"), ("Mcp-Method", "tools/list"))!.Header);
        Assert.Null(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list")));
    }

    [Fact]
    public void Check_ResourcesReadName_IsTheUri()
    {
        var json = """{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"support://kb/refunds",""" + Meta2026 + """}}""";

        Assert.Null(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "resources/read"), ("Mcp-Name", "support://kb/refunds")));
        Assert.NotNull(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "resources/read"), ("Mcp-Name", "support://kb/shipping")));
        Assert.NotNull(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "resources/read")));
    }

    [Fact]
    public void Check_NameOnAMethodThatNamesNothing_IsAMismatch()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"method":"ping"}""";

        Assert.Equal("Mcp-Name", Check(json, null, ("Mcp-Method", "ping"), ("Mcp-Name", "get_ticket"))!.Header);
    }

    [Fact]
    public void Check_BatchWithMirroredHeaders_IsAMismatchAndA2026BatchToo()
    {
        const string batch = """[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b"}}]""";

        Assert.Null(Check(batch, null));
        Assert.Equal("Mcp-Name", Check(batch, null, ("Mcp-Name", "a"))!.Header);
        Assert.Equal("MCP-Protocol-Version", Check(batch, null, ("MCP-Protocol-Version", "2026-07-28"))!.Header);
    }

    [Fact]
    public void Check_NotificationOn2026_NeedsNoMethodHeaderButAPresentOneMustAgree()
    {
        const string json = """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}""";

        Assert.Null(Check(json, null, ("MCP-Protocol-Version", "2026-07-28")));
        Assert.NotNull(Check(json, null, ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "notifications/progress")));
    }

    [Fact]
    public void Check_ClientResponse_On2026IsRefusedAndOn2025PassesWithoutMethodHeader()
    {
        const string json = """{"jsonrpc":"2.0","id":"s1","result":{}}""";

        Assert.Null(Check(json, null, ("MCP-Protocol-Version", "2025-11-25")));
        Assert.NotNull(Check(json, null, ("MCP-Protocol-Version", "2025-11-25"), ("Mcp-Method", "tools/call")));
        Assert.NotNull(Check(json, null, ("MCP-Protocol-Version", "2026-07-28")));
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"A"},"b":{"type":"string","x-mcp-header":"a"}}}""", "twice")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","x-mcp-header":""}}}""", "token")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"Bad Name"}}}""", "token")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"Bad\r\nName"}}}""", "token")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"number","x-mcp-header":"A"}}}""", "integer")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"object","x-mcp-header":"A"}}}""", "integer")]
    [InlineData("""{"type":"object","properties":{"a":{"x-mcp-header":"A"}}}""", "integer")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"array","items":{"type":"string","x-mcp-header":"A"}}}}""", "properties")]
    [InlineData("""{"type":"object","properties":{"a":{"oneOf":[{"type":"string","x-mcp-header":"A"}]}}}""", "properties")]
    [InlineData("""{"type":"object","$defs":{"x":{"type":"string","x-mcp-header":"A"}}}""", "properties")]
    [InlineData("""{"type":"object","x-mcp-header":"Root"}""", "root")]
    public void TryRead_InvalidAnnotation_RejectsTheToolDefinition(string schema, string reason)
    {
        Assert.False(McpToolHeaders.TryRead(JsonDocument.Parse(schema).RootElement, out _, out var error));
        Assert.Contains(reason, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TryRead_PropertyNamedLikeTheKeywordOrDataHoldingIt_IsNoAnnotation()
    {
        const string schema = """{"type":"object","properties":{"x-mcp-header":{"type":"string","default":{"x-mcp-header":"Nope"}}}}""";

        Assert.True(McpToolHeaders.TryRead(JsonDocument.Parse(schema).RootElement, out var headers, out var error), error);
        Assert.Empty(headers.Headers);
    }

    [Fact]
    public void TryRead_NestedProperty_HasItsFullPath()
    {
        var headers = Annotations();

        Assert.Equal(["Region", "Limit", "Dry", "Tenant"], headers.Headers.Select(h => h.Name));
        Assert.Equal("opts.tenant", headers.Headers[3].DottedPath);
        Assert.Equal("Mcp-Param-Tenant", headers.Headers[3].HeaderName);
    }

    [Fact]
    public void Cache_ObservesToolsAndForgetsInvalidOnesAndStaysBounded()
    {
        var cache = new McpToolHeaderCache(maxEntries: 2);
        var valid = JsonDocument.Parse("""{"name":"a","inputSchema":{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"R"}}}}""").RootElement;
        var invalid = JsonDocument.Parse("""{"name":"a","inputSchema":{"type":"object","properties":{"r":{"type":"number","x-mcp-header":"R"}}}}""").RootElement;

        Assert.True(cache.Observe("route", "a", valid));
        Assert.Equal("R", cache.Find("route", "a")!.Headers[0].Name);
        Assert.Null(cache.Find("other-route", "a"));
        Assert.False(cache.Observe("route", "a", invalid));
        Assert.False(cache.TryGet("route", "a", out _));

        cache.Set("route", "b", McpToolHeaders.None);
        cache.Set("route", "c", McpToolHeaders.None);
        cache.Set("route", "d", McpToolHeaders.None);
        Assert.True(cache.Count <= 2);
        Assert.NotNull(cache.Find("route", "d"));
    }
}
