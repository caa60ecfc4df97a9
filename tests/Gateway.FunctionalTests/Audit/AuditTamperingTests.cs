using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Audit;

/// <summary>
/// A trail the gateway wrote, tampered with in each way an intruder might, then checked by the real
/// <c>gateway audit verify</c>: exit 1, and the first bad line named as <c>FILE:LINE: reason</c>.
/// </summary>
public sealed class AuditTamperingTests : IClassFixture<AuditTamperingTests.TrailFixture>
{
    private const int Events = 30;
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly TrailFixture _trail;

    public AuditTamperingTests(TrailFixture trail) => _trail = trail;

    public static TheoryData<string, int, string> Tamperings => new()
    {
        { "edit a value", 10, "hash mismatch" },
        { "edit a value and recompute its hash", 11, "prev_hash break" },
        { "delete a line", 10, "seq gap" },
        { "delete the first line", 1, "seq gap" },
        { "swap two lines", 10, "reordered" },
        { "insert a copy of an earlier line", 11, "reordered" },
        { "cut the last line", Events, "unparsable line" },
    };

    [Fact]
    public async Task Verify_TrailAsWritten_ExitsZero()
    {
        var result = await AuditCli.RunAsync("audit", "verify", _trail.LiveFile);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith($"ok: {Events} events in 1 chain(s), 1 file(s)", result.Output, StringComparison.Ordinal);
        Assert.Contains($": seq 1..{Events}, {Events} events, head ", result.Output, StringComparison.Ordinal);
        Assert.Equal("", result.Error);
    }

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task Verify_TamperedTrail_ExitsOneNamingTheFirstBadLine(string tampering, int line, string reason)
    {
        var lines = File.ReadAllLines(_trail.LiveFile).ToList();
        Assert.Equal(Events, lines.Count);
        var copy = Path.Combine(_trail.Folder.NewFolder(Guid.NewGuid().ToString("N")), "decisions.jsonl");
        switch (tampering)
        {
            case "edit a value":
                lines[9] = ReplaceOnce(lines[9], "\"status\":200", "\"status\":204");
                break;
            case "edit a value and recompute its hash":
                lines[9] = Rehash(ReplaceOnce(lines[9], "\"status\":200", "\"status\":204"));
                break;
            case "delete a line":
                lines.RemoveAt(9);
                break;
            case "delete the first line":
                lines.RemoveAt(0);
                break;
            case "swap two lines":
                (lines[9], lines[10]) = (lines[10], lines[9]);
                break;
            case "insert a copy of an earlier line":
                lines.Insert(10, lines[4]);
                break;
            case "cut the last line":
                lines[^1] = lines[^1][..(lines[^1].Length / 2)];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(tampering), tampering, null);
        }

        await File.WriteAllTextAsync(copy, string.Join('\n', lines) + (tampering == "cut the last line" ? "" : "\n"));
        var result = await AuditCli.RunAsync("audit", "verify", copy);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"{copy}:{line}: {reason}: ", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task Export_Ocsf_WritesOneApiActivityPerEvent()
    {
        var result = await AuditCli.RunAsync("audit", "export", "--format", "ocsf", _trail.LiveFile);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Events, lines.Length);
        var events = File.ReadAllLines(_trail.LiveFile).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        for (var i = 0; i < Events; i++)
        {
            var ocsf = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(6003, ocsf.GetProperty("class_uid").GetInt32());
            Assert.Equal(events[i].GetProperty("event_id").GetString(), ocsf.GetProperty("metadata").GetProperty("uid").GetString());
            Assert.Equal(events[i].GetProperty("trace_id").GetString(), ocsf.GetProperty("metadata").GetProperty("correlation_uid").GetString());
        }
    }

    [Fact]
    public async Task Export_Jsonl_PassesTheLinesThrough()
    {
        var result = await AuditCli.RunAsync("audit", "export", "--format", "jsonl", _trail.LiveFile);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(await File.ReadAllTextAsync(_trail.LiveFile), result.Output);
    }

    [Fact]
    public async Task Verify_NoSuchFile_ExitsTwo()
    {
        var missing = Path.Combine(_trail.Folder.Path, "nothing-here.jsonl");
        var result = await AuditCli.RunAsync("audit", "verify", missing);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(missing, result.Error, StringComparison.Ordinal);
    }

    private static string ReplaceOnce(string line, string from, string to)
    {
        Assert.Contains(from, line, StringComparison.Ordinal);
        return line.Replace(from, to, StringComparison.Ordinal);
    }

    /// <summary>
    /// What an intruder who knows the format does (docs/audit.md, Hash chain), written independently of
    /// the gateway's code: SHA-256 of prev_hash followed by the JCS form (sorted members, no whitespace)
    /// of the event without its hash. The audit lines are ASCII, so an ordinal sort is JCS's.
    /// </summary>
    private static string Rehash(string line)
    {
        var node = JsonNode.Parse(line)!.AsObject();
        node.Remove("hash");
        var canonical = Canonical(node)!.ToJsonString(Relaxed);
        var prev = node["prev_hash"]!.GetValue<string>();
        node["hash"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prev + canonical)));
        return Canonical(node)!.ToJsonString(Relaxed);
    }

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Canonical(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => JsonNode.Parse(node.ToJsonString()),
    };

    /// <summary>A trail of <see cref="Events"/> allowed calls, written by a gateway that has stopped.</summary>
    public sealed class TrailFixture : IAsyncLifetime
    {
        internal AuditFolder Folder { get; } = new();

        public string LiveFile => Folder.LiveFile;

        public async Task InitializeAsync()
        {
            using var issuer = new TestIssuer();
            await using var upstream = await UpstreamServer.StartAsync();
            var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(LiveFile));
            try
            {
                var token = issuer.Mint();
                for (var i = 0; i < Events; i++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/crm/customers/42");
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    using var response = await gateway.Client.SendAsync(request);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }
            }
            finally
            {
                await gateway.DisposeAsync();
            }
        }

        public Task DisposeAsync()
        {
            Folder.Dispose();
            return Task.CompletedTask;
        }
    }
}
