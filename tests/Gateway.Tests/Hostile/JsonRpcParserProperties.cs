using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Gateway.Mcp;
using Gateway.Testing;
using Xunit.Abstractions;

namespace Gateway.Tests.Hostile;

/// <summary>
/// Whatever a client POSTs to an MCP route, the parser answers with messages or a JSON-RPC error: never an exception,
/// and a tool call it accepts names exactly the tool a strict JSON reader sees in <c>params.name</c>.
/// </summary>
public sealed class JsonRpcParserProperties(ITestOutputHelper output)
{
    private static readonly string[] Seeds =
    [
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_ticket","arguments":{"id":"T-1"},"_meta":{"progressToken":1}}}""",
        """[{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"x"}},{"jsonrpc":"2.0","method":"notifications/initialized"}]""",
        """{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"support://kb/refunds"}}""",
        """{"jsonrpc":"2.0","id":3,"result":{"content":[]}}""",
    ];

    private static readonly Gen<string> Id = Gen.OneOf(
        Gen.Const("null"), Gen.Const("true"), Gen.Const("false"), Gen.Const("{}"), Gen.Const("[]"), Gen.Const("[1]"),
        Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)), Gen.Const("1.5"), Gen.Const("-0"), Gen.Const("1e999"),
        Gen.String[0, 8].Select(s => JsonValue.Create(s).ToJsonString()), Gen.Const("\"\\ud800\""));

    private static readonly Gen<string> Method = Gen.OneOf(
        Gen.OneOf("tools/call", "Tools/Call", "TOOLS/CALL", "tools/call ", " tools/call", "tools/call\u0000", "tools/c\u0430ll", "tools/call\u200b",
            "t\u00f6ols/call", "tools\\/call", "resources/read", "prompts/get", "ping", "notifications/x", "", "\ud800", "\ufeff"),
        Gen.String[0, 12]).Select(m => m == "tools\\/call" ? "\"tools\\/call\"" : JsonValue.Create(m).ToJsonString());

    private static readonly Gen<string> Params = Gen.OneOf(
        Gen.Const(""), Gen.Const(",\"params\":null"), Gen.Const(",\"params\":[]"), Gen.Const(",\"params\":\"x\""),
        Gen.Const(",\"params\":{\"_meta\":{\"name\":\"delete_all\"}}"),
        Gen.Const(",\"params\":{\"name\":\"a\",\"name\":\"b\"}"),
        Gen.String[0, 10].Select(n => ",\"params\":{\"name\":" + JsonValue.Create(n).ToJsonString() + ",\"arguments\":{\"q\":1}}"),
        Gen.Const(",\"params\":{\"name\":5}"), Gen.Const(",\"params\":{\"uri\":\"u\",\"arguments\":[]}"));

    private static readonly Gen<string> Structured = Gen.Select(Id, Method, Params, Gen.Bool)
        .Select(t => "{\"jsonrpc\":\"2.0\"" + (t.Item4 ? ",\"id\":" + t.Item1 : "") + ",\"method\":" + t.Item2 + t.Item3 + "}");

    private static readonly Gen<byte[]> Mutated = Gen.Select(Gen.Int[0, Seeds.Length - 1], Gen.Int[0, 400], Gen.Byte, Gen.Int[0, 2])
        .Select(t =>
        {
            var bytes = new List<byte>(Encoding.UTF8.GetBytes(Seeds[t.Item1]));
            var at = t.Item2 % (bytes.Count + 1);
            switch (t.Item4)
            {
                case 0 when at < bytes.Count:
                    bytes[at] = t.Item3;
                    break;
                case 1:
                    bytes.Insert(at, t.Item3);
                    break;
                default:
                    if (at < bytes.Count)
                    {
                        bytes.RemoveAt(at);
                    }

                    break;
            }

            return bytes.ToArray();
        });

    private static readonly Gen<byte[]> Hostile = Gen.OneOf(
        Gen.Byte.Array[0, 300],
        Structured.Select(Encoding.UTF8.GetBytes),
        Structured.Array[0, 5].Select(m => Encoding.UTF8.GetBytes("[" + string.Join(',', m) + "]")),
        Mutated,
        Gen.Int[1, 200].Select(n => Encoding.UTF8.GetBytes(new string('{', n) + new string('}', n))),
        Gen.Int[1, 200].Select(n => Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"arguments\":" + new string('[', n) + new string(']', n) + "}}")));

    [Fact]
    public void Parse_HostileBody_NeverThrowsAndAcceptsOnlyWhatAStrictReaderSees()
    {
        var options = new JsonRpcParserOptions { MaxDepth = 64, MaxBatchSize = 4 };
        var accepted = 0;
        Fuzz.Run(output, "jsonrpc-parse", Hostile, 20_000, bytes =>
        {
            using var body = JsonRpcParser.Parse(bytes, options);
            if (body.Error is not null)
            {
                Assert.Empty(body.Messages);
                Assert.True(body.Error.Code is JsonRpcError.ParseErrorCode or JsonRpcError.InvalidRequestCode);
                return;
            }

            Assert.NotEmpty(body.Messages);
            foreach (var message in body.Messages)
            {
                if (message.Error is not null)
                {
                    Assert.Equal(JsonRpcMessageKind.Invalid, message.Kind);
                    Assert.False(message.CarriesCapability);
                    continue;
                }

                if (!message.CarriesCapability)
                {
                    continue;
                }

                accepted++;
                var node = JsonNode.Parse(message.Element.GetRawText())!;
                Assert.Equal(JsonRpcMessageKind.Request, message.Kind);
                Assert.Equal(node["method"]!.GetValue<string>(), message.Method);
                Assert.Contains(message.Method, new[] { "tools/call", "resources/read", "prompts/get" });
                var expected = message.KnownMethod == McpMethod.ResourcesRead ? node["params"]!["uri"] : node["params"]!["name"];
                Assert.Equal(expected!.GetValue<string>(), message.KnownMethod == McpMethod.ResourcesRead ? message.Uri : message.Name);
                Assert.True(message.Id is not null && (message.Id[0] == '"' || message.Id[0] == '-' || char.IsAsciiDigit(message.Id[0])));
            }
        }, b => Encoding.UTF8.GetString(b));
        output.WriteLine($"{accepted} capability messages accepted");
        Assert.True(accepted > 100, "the generator should reach valid tool calls too");
    }
}
