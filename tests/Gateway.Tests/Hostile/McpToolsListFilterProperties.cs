using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Gateway.Mcp;
using Gateway.Testing;
using Xunit.Abstractions;

namespace Gateway.Tests.Hostile;

/// <summary>
/// Whatever tools a server lists, in whatever spacing, the filtered answer is JSON listing exactly the allowed tools in
/// their order, with the rest of the answer as it was.
/// </summary>
public sealed class McpToolsListFilterProperties(ITestOutputHelper output)
{
    private static readonly Gen<string> Space = Gen.OneOf(Gen.Const(""), Gen.Const(" "), Gen.Const("\n  "), Gen.Const("\t"));

    private static readonly Gen<(string Name, bool Allowed, string Extra)> Tool = Gen.Select(
        Gen.OneOf(Gen.String[1, 8], Gen.OneOf("a", "b", "get_ticket", "é", "\u2028")), Gen.Bool,
        Gen.OneOf(Gen.Const(""), Gen.Const(",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}}}"), Gen.Const(",\"description\":\"[{,}]\\\"\"")));

    [Fact]
    public void FilterJson_AnyListing_KeepsExactlyTheAllowedToolsAndTheEnvelope()
    {
        var gen = Gen.Select(Tool.Array[0, 8], Space, Gen.Bool);
        Fuzz.Run(output, "mcp-tools-list-filter", gen, 3_000, t =>
        {
            var (tools, space, cursor) = t;
            var unique = tools.DistinctBy(x => x.Name).ToArray();
            var allowed = unique.Where(x => x.Allowed).Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
            var items = unique.Select(x => "{" + space + "\"name\":" + JsonValue.Create(x.Name).ToJsonString() + x.Extra + "}");
            var body = "{\"jsonrpc\":\"2.0\"," + space + "\"id\":1,\"result\":{\"tools\":[" + space + string.Join("," + space, items) + space + "]"
                + (cursor ? ",\"nextCursor\":\"next\"" : "") + "}}";

            var result = McpToolsListFilter.FilterJson(Encoding.UTF8.GetBytes(body), new McpToolsListFilterOptions { Allow = allowed.Contains, ResponseIds = ["1"] });

            Assert.NotEqual(McpFilterOutcome.Refused, result.Outcome);
            var filtered = result.Body ?? Encoding.UTF8.GetBytes(body);
            var root = JsonDocument.Parse(filtered).RootElement;
            Assert.Equal(unique.Where(x => x.Allowed).Select(x => x.Name), root.GetProperty("result").GetProperty("tools").EnumerateArray().Select(x => x.GetProperty("name").GetString()));
            Assert.Equal(unique.Length - allowed.Count, result.Removed);
            Assert.Equal(1, root.GetProperty("id").GetInt32());
            Assert.Equal(cursor, root.GetProperty("result").TryGetProperty("nextCursor", out _));
        }, t => string.Join(",", t.Item1.Select(x => x.Name + (x.Allowed ? "+" : "-"))));
    }
}
