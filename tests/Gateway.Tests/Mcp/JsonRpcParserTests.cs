using System.Text;
using Gateway.Mcp;

namespace Gateway.Tests.Mcp;

public sealed class JsonRpcParserTests
{
    private static JsonRpcBody Parse(string json, JsonRpcParserOptions? options = null) => JsonRpcParser.Parse(Encoding.UTF8.GetBytes(json), options);

    private static JsonRpcMessage Single(string json)
    {
        var body = Parse(json);
        Assert.Null(body.Error);
        Assert.False(body.IsBatch);
        return Assert.Single(body.Messages);
    }

    [Fact]
    public void Parse_ToolsCall_ReadsNameArgumentsMetaAndRawId()
    {
        using var body = Parse("""
            {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_ticket","arguments":{"queue":"billing","n":2},
             "_meta":{"progressToken":"p1","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}
            """);

        var message = Assert.Single(body.Messages);
        Assert.True(body.IsValid);
        Assert.Equal(JsonRpcMessageKind.Request, message.Kind);
        Assert.Equal(McpMethod.ToolsCall, message.KnownMethod);
        Assert.True(message.CarriesCapability);
        Assert.Equal("7", message.Id);
        Assert.Equal("tools/call", message.Method);
        Assert.Equal("create_ticket", message.Name);
        Assert.Null(message.Uri);
        Assert.Equal("billing", message.Arguments!.Value.GetProperty("queue").GetString());
        Assert.Equal("p1", message.Meta!.Value.GetProperty("progressToken").GetString());
        Assert.Equal("2026-07-28", message.MetaProtocolVersion);
    }

    [Theory]
    [InlineData("1", "1")]
    [InlineData("-3", "-3")]
    [InlineData("1.5e3", "1.5e3")]
    [InlineData("\"abc\"", "\"abc\"")]
    [InlineData("\"a\\u0062c\"", "\"a\\u0062c\"")]
    [InlineData("\"\"", "\"\"")]
    public void Parse_StringOrNumberId_IsKeptAsItsRawJsonText(string id, string expected)
    {
        var message = Single($$"""{"jsonrpc":"2.0","id":{{id}},"method":"ping"}""");

        Assert.Null(message.Error);
        Assert.Equal(expected, message.Id);
    }

    [Theory]
    [InlineData("null", "id_null")]
    [InlineData("true", "id_type")]
    [InlineData("false", "id_type")]
    [InlineData("{}", "id_type")]
    [InlineData("[1]", "id_type")]
    public void Parse_IdOfAnotherType_IsInvalidRequestWithNullId(string id, string reason)
    {
        var message = Single($$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"x"}}""");

        Assert.Equal(JsonRpcMessageKind.Invalid, message.Kind);
        Assert.Equal(JsonRpcError.InvalidRequestCode, message.Error!.Code);
        Assert.Equal(reason, message.Error.Reason);
        Assert.Null(message.Id);
        Assert.False(message.CarriesCapability);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", JsonRpcMessageKind.Notification, McpMethod.Notification)]
    [InlineData("""{"jsonrpc":"2.0","id":"r1","result":{}}""", JsonRpcMessageKind.Response, McpMethod.None)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}""", JsonRpcMessageKind.Response, McpMethod.None)]
    [InlineData("""{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"no"}}""", JsonRpcMessageKind.Response, McpMethod.None)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}""", JsonRpcMessageKind.Request, McpMethod.Initialize)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"server/discover"}""", JsonRpcMessageKind.Request, McpMethod.ServerDiscover)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/templates/list"}""", JsonRpcMessageKind.Request, McpMethod.List)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"info"}}""", JsonRpcMessageKind.Request, McpMethod.Other)]
    public void Parse_MessageKinds_AreTold(string json, JsonRpcMessageKind kind, McpMethod method)
    {
        var message = Single(json);

        Assert.Null(message.Error);
        Assert.Equal(kind, message.Kind);
        Assert.Equal(method, message.KnownMethod);
    }

    [Fact]
    public void Parse_ResourcesRead_ReadsUriAndPromptsGetReadsName()
    {
        var read = Single("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"support://kb/refunds"}}""");
        var prompt = Single("""{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"triage","arguments":{"ticket_id":"T-1"}}}""");

        Assert.Equal("support://kb/refunds", read.Uri);
        Assert.Null(read.Name);
        Assert.Equal("triage", prompt.Name);
        Assert.Equal("T-1", prompt.Arguments!.Value.GetProperty("ticket_id").GetString());
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}""", -32600, "params_not_object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}""", -32600, "params_not_object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":null}""", -32600, "params_not_object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call"}""", -32602, "params_missing")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}""", -32602, "name_missing")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}""", -32602, "name_missing")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":[]}}""", -32602, "arguments_not_object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":null}}""", -32602, "arguments_not_object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":"x"}}""", -32602, "meta_not_object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"io.modelcontextprotocol/protocolVersion":1}}}""", -32602, "protocol_version_not_string")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}""", -32602, "uri_missing")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"uri":"x"}}""", -32602, "name_missing")]
    [InlineData("""{"jsonrpc":"2.0","method":"tools/call","params":{"name":"a"}}""", -32600, "capability_notification")]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"ping"}""", -32600, "jsonrpc_version")]
    [InlineData("""{"id":1,"method":"ping"}""", -32600, "jsonrpc_version")]
    [InlineData("""{"jsonrpc":2.0,"id":1,"method":"ping"}""", -32600, "jsonrpc_version")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":7}""", -32600, "method_not_string")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":""}""", -32600, "method_empty")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"a"}}""", -32600, "method_case_variant")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"TOOLS/CALL","params":{"name":"a"}}""", -32600, "method_case_variant")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"Resources/Read","params":{"uri":"a"}}""", -32600, "method_case_variant")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call ","params":{"name":"a"}}""", -32600, "method_characters")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/c\u0430ll","params":{"name":"a"}}""", -32600, "method_characters")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call\u200b","params":{"name":"a"}}""", -32600, "method_characters")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call\u0000","params":{"name":"a"}}""", -32600, "method_characters")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"\ud800","params":{"name":"a"}}""", -32600, "method_not_string")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\udfff"}}""", -32602, "name_missing")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}""", -32600, "ambiguous_message")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"error":{}}""", -32600, "result_and_error")]
    [InlineData("""{"jsonrpc":"2.0","id":1}""", -32600, "not_a_message")]
    [InlineData("""{"jsonrpc":"2.0","result":{}}""", -32600, "id_missing")]
    [InlineData("""{"jsonrpc":"2.0","id":null,"result":{}}""", -32600, "id_null")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":"bad"}""", -32600, "error_not_object")]
    public void Parse_InvalidMessage_HasPreciseCodeAndReason(string json, int code, string reason)
    {
        var message = Single(json);

        Assert.Equal(JsonRpcMessageKind.Invalid, message.Kind);
        Assert.Equal(code, message.Error!.Code);
        Assert.Equal(reason, message.Error.Reason);
        Assert.False(message.CarriesCapability);
        Assert.False(string.IsNullOrWhiteSpace(message.Error.Message));
    }

    [Fact]
    public void Parse_InvalidMessageWithReadableId_KeepsTheIdForItsAnswer()
    {
        var message = Single("""{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"a","arguments":1}}""");

        Assert.Equal("\"abc\"", message.Id);
        Assert.Equal("tools/call", message.Method);
    }

    [Fact]
    public void Parse_ToolNameSmuggledInMetaOrArguments_IsNeverTheName()
    {
        var missing = Single("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"name":"delete_all"},"arguments":{"name":"delete_all"}}}""");
        var real = Single("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"name":"delete_all"},"name":"get_ticket"}}""");

        Assert.Equal("name_missing", missing.Error!.Reason);
        Assert.Null(missing.Name);
        Assert.Equal("get_ticket", real.Name);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"a"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_ticket","name":"delete_all"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"queue":"mine","queue":"theirs"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":{"y":1,"y":2}}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"k":1,"k":2}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","n\u0061me":"b"}}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"id":3,"method":"ping"}]""")]
    public void Parse_DuplicateMemberAnywhere_RefusesTheWholeBody(string json)
    {
        using var body = Parse(json);

        Assert.Equal(JsonRpcError.ParseErrorCode, body.Error!.Code);
        Assert.Equal("duplicate_member", body.Error.Reason);
        Assert.Empty(body.Messages);
        Assert.False(body.IsValid);
    }

    [Theory]
    [InlineData("", "empty_body")]
    [InlineData("  \r\n", "empty_body")]
    [InlineData("{", "json_syntax")]
    [InlineData("{\"jsonrpc\":\"2.0\",}", "json_syntax")]
    [InlineData("{} {}", "json_syntax")]
    [InlineData("// c\n{}", "json_syntax")]
    [InlineData("{'a':1}", "json_syntax")]
    public void Parse_NotJson_IsParseError(string json, string reason)
    {
        using var body = Parse(json);

        Assert.Equal(JsonRpcError.ParseErrorCode, body.Error!.Code);
        Assert.Equal(reason, body.Error.Reason);
    }

    [Fact]
    public void Parse_InvalidUtf8_IsParseError()
    {
        var bytes = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/\xff\"}"u8.ToArray();
        bytes[^3] = 0xff;

        using var body = JsonRpcParser.Parse(bytes);

        Assert.Equal(JsonRpcError.ParseErrorCode, body.Error!.Code);
        Assert.Equal("invalid_utf8", body.Error.Reason);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("\"tools/call\"")]
    [InlineData("null")]
    public void Parse_TopLevelScalar_IsInvalidRequest(string json)
    {
        using var body = Parse(json);

        Assert.Equal(JsonRpcError.InvalidRequestCode, body.Error!.Code);
        Assert.Equal("not_a_message", body.Error.Reason);
    }

    [Fact]
    public void Parse_NestingAtTheLimit_IsReadAndOneDeeperIsRefused()
    {
        var options = new JsonRpcParserOptions { MaxDepth = 10 };

        // message (1) > params (2) > arguments (3) > 7 more levels = 10.
        static string Nested(int levels) => new string('[', levels) + new string(']', levels);
        using var atLimit = Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":""" + Nested(7) + "}}}", options);
        using var tooDeep = Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":""" + Nested(8) + "}}}", options);

        Assert.Null(atLimit.Error);
        Assert.True(atLimit.IsValid);
        Assert.Equal("too_deep", tooDeep.Error!.Reason);
        Assert.Equal(JsonRpcError.ParseErrorCode, tooDeep.Error.Code);
    }

    [Fact]
    public void Parse_VeryDeepNesting_IsRefusedWithoutThrowing()
    {
        var json = new string('[', 100_000) + new string(']', 100_000);

        using var body = Parse(json);

        Assert.Equal("too_deep", body.Error!.Reason);
    }

    [Fact]
    public void Parse_BodyOverTheLimit_IsRefusedBeforeParsing()
    {
        var tenMegabytes = new byte[10 * 1024 * 1024];
        Array.Fill(tenMegabytes, (byte)' ');

        using var body = JsonRpcParser.Parse(tenMegabytes);

        Assert.Equal("too_large", body.Error!.Reason);
        Assert.Equal(JsonRpcError.ParseErrorCode, body.Error.Code);
    }

    [Fact]
    public void Parse_Batch_ReadsEveryMessageAndKeepsInvalidOnesApart()
    {
        using var body = Parse("""
            [{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},
             {"jsonrpc":"2.0","method":"notifications/initialized"},
             {"jsonrpc":"2.0","id":true,"method":"ping"},
             5]
            """);

        Assert.True(body.IsBatch);
        Assert.Null(body.Error);
        Assert.False(body.IsValid);
        Assert.Equal(4, body.Messages.Count);
        Assert.Equal("a", body.Messages[0].Name);
        Assert.Equal(JsonRpcMessageKind.Notification, body.Messages[1].Kind);
        Assert.Equal("id_type", body.Messages[2].Error!.Reason);
        Assert.Equal("message_not_object", body.Messages[3].Error!.Reason);
    }

    [Fact]
    public void Parse_EmptyOrOversizedBatch_IsInvalidRequest()
    {
        using var empty = Parse("[]");
        using var big = Parse("[" + string.Join(',', Enumerable.Repeat("""{"jsonrpc":"2.0","method":"notifications/x"}""", 4)) + "]", new JsonRpcParserOptions { MaxBatchSize = 3 });

        Assert.True(empty.IsBatch);
        Assert.Equal("empty_batch", empty.Error!.Reason);
        Assert.Equal(JsonRpcError.InvalidRequestCode, empty.Error.Code);
        Assert.Equal("batch_too_large", big.Error!.Reason);
        Assert.Empty(big.Messages);
    }
}
