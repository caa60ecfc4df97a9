using System.Text.Json;
using Gateway.Mcp;

namespace Gateway.Tests.Mcp;

public sealed class JsonRpcErrorWriterTests
{
    [Fact]
    public void Refusal_CarriesTheContractsDataForTheSameId()
    {
        var bytes = JsonRpcErrorWriter.Refusal("\"a\\u0062\"", new McpRefusal("approval_required", "A person must approve close_ticket.", "dec-1")
        {
            ApprovalId = "ap-1",
            ApprovalUrl = "https://gw.example/approvals/ap-1",
        });

        var root = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal("2.0", root.GetProperty("jsonrpc").GetString());
        Assert.Equal("ab", root.GetProperty("id").GetString());
        var error = root.GetProperty("error");
        Assert.Equal(-32001, error.GetProperty("code").GetInt32());
        Assert.Equal("A person must approve close_ticket.", error.GetProperty("message").GetString());
        var data = error.GetProperty("data");
        Assert.Equal("approval_required", data.GetProperty("error").GetString());
        Assert.Equal("A person must approve close_ticket.", data.GetProperty("detail").GetString());
        Assert.Equal("dec-1", data.GetProperty("decision_id").GetString());
        Assert.Equal("ap-1", data.GetProperty("approval_id").GetString());
        Assert.Equal("https://gw.example/approvals/ap-1", data.GetProperty("approval_url").GetString());
        Assert.False(data.TryGetProperty("retry_after", out _));
        Assert.Contains("\"id\":\"a\\u0062\"", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Refusal_WithRetryAfterAndNumericId()
    {
        var root = JsonDocument.Parse(JsonRpcErrorWriter.Refusal("12", new McpRefusal("step_limit_exceeded", "No steps left.", "dec-2") { RetryAfter = 30 })).RootElement;

        Assert.Equal(12, root.GetProperty("id").GetInt32());
        Assert.Equal(30, root.GetProperty("error").GetProperty("data").GetProperty("retry_after").GetInt32());
        Assert.False(root.GetProperty("error").GetProperty("data").TryGetProperty("approval_id", out _));
    }

    [Fact]
    public void ParseErrorAndInvalidRequest_CarryCodeAndReason()
    {
        using var body = JsonRpcParser.Parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2}"u8.ToArray());
        var parse = JsonDocument.Parse(JsonRpcErrorWriter.ParseError(body.Error!)).RootElement;
        var invalid = JsonDocument.Parse(JsonRpcErrorWriter.Invalid("5", new JsonRpcError(-32600, "id_null", "The id must not be null."))).RootElement;

        Assert.Equal(JsonValueKind.Null, parse.GetProperty("id").ValueKind);
        Assert.Equal(-32700, parse.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("duplicate_member", parse.GetProperty("error").GetProperty("data").GetProperty("reason").GetString());
        Assert.Equal(-32600, invalid.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(5, invalid.GetProperty("id").GetInt32());
    }

    [Fact]
    public void HeaderMismatch_IsMcpsCode()
    {
        var root = JsonDocument.Parse(JsonRpcErrorWriter.HeaderMismatch("1", new McpHeaderMismatch("Mcp-Name", "Mcp-Name \"a\" does not match the body's \"b\"."))).RootElement;

        Assert.Equal(-32020, root.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("header_mismatch", root.GetProperty("error").GetProperty("data").GetProperty("reason").GetString());
    }

    [Fact]
    public void Batch_IsAnArrayOfAnswersInOrder()
    {
        var bytes = JsonRpcErrorWriter.Batch(
        [
            JsonRpcErrorResponse.For("1", new McpRefusal("tool_not_allowed", "Tool x is not listed.", "d1")),
            JsonRpcErrorResponse.For(null, new JsonRpcError(-32600, "id_type", "Bad id.")),
            JsonRpcErrorResponse.For("\"z\"", new McpRefusal("batch_refused", "Another message of the batch was refused.", "d1")),
        ]);

        var answers = JsonDocument.Parse(bytes).RootElement.EnumerateArray().ToArray();
        Assert.Equal(3, answers.Length);
        Assert.Equal("tool_not_allowed", answers[0].GetProperty("error").GetProperty("data").GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, answers[1].GetProperty("id").ValueKind);
        Assert.Equal("z", answers[2].GetProperty("id").GetString());
    }

    [Fact]
    public void Refusal_WithAnIdThatIsNotJson_Throws()
    {
        Assert.ThrowsAny<Exception>(() => JsonRpcErrorWriter.Refusal("not json", new McpRefusal("e", "d", "i")));
    }
}
