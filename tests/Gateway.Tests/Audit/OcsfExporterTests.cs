using System.Text;
using System.Text.Json;
using Gateway.Audit;

namespace Gateway.Tests.Audit;

public sealed class OcsfExporterTests : IDisposable
{
    private readonly AuditTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void ToJson_ForwardedCall_CarriesTheOutcomeAndLinks()
    {
        var auditEvent = Chained(AuditTestData.Allowed(7));

        using var json = JsonDocument.Parse(OcsfExporter.ToJson(auditEvent));
        var root = json.RootElement;

        var response = root.GetProperty("http_response");
        Assert.Equal(200, response.GetProperty("code").GetInt32());
        Assert.Equal(11, response.GetProperty("length").GetInt64());
        Assert.Equal(3, response.GetProperty("latency").GetInt64());
        Assert.Equal(11, root.GetProperty("traffic").GetProperty("bytes_in").GetInt64());
        var unmapped = root.GetProperty("unmapped");
        var outcome = unmapped.GetProperty("outcome");
        Assert.Equal(new string('9', 64), outcome.GetProperty("body_sha256").GetString());
        Assert.True(outcome.GetProperty("complete").GetBoolean());
        var links = unmapped.GetProperty("links");
        Assert.Equal(new string('7', 64), links.GetProperty("prompt_sha256").GetString());
        Assert.Equal("conv_7", links.GetProperty("conversation_id").GetString());
        Assert.Equal(0, links.GetProperty("grant").GetInt32());
        Assert.Equal("sha256:" + new string('6', 64), links.GetProperty("intent_evidence").GetString());
        Assert.Equal(["conversation_id", "prompt_sha256"], links.GetProperty("claimed").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void ToJson_RefusedCall_HasNoResponseOrTraffic()
    {
        using var json = JsonDocument.Parse(OcsfExporter.ToJson(Chained(AuditTestData.Refused(8))));
        var root = json.RootElement;

        Assert.False(root.TryGetProperty("http_response", out _));
        Assert.False(root.TryGetProperty("traffic", out _));
        Assert.False(root.GetProperty("unmapped").TryGetProperty("outcome", out _));
        Assert.Equal(["prompt_sha256"], root.GetProperty("unmapped").GetProperty("links").GetProperty("malformed").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void ToJson_AllowedEvent_IsApiActivityReadSuccess()
    {
        var auditEvent = Chained(AuditTestData.Allowed(42));

        using var json = JsonDocument.Parse(OcsfExporter.ToJson(auditEvent, new OcsfExportOptions { VendorName = "Example Corp", ProductVersion = "1.2.3" }));
        var root = json.RootElement;

        Assert.Equal(6003, root.GetProperty("class_uid").GetInt32());
        Assert.Equal(6, root.GetProperty("category_uid").GetInt32());
        Assert.Equal(2, root.GetProperty("activity_id").GetInt32());
        Assert.Equal("Read", root.GetProperty("activity_name").GetString());
        Assert.Equal(600302, root.GetProperty("type_uid").GetInt32());
        Assert.Equal(auditEvent.Time.ToUnixTimeMilliseconds(), root.GetProperty("time").GetInt64());
        Assert.Equal((1, "Success"), (root.GetProperty("status_id").GetInt32(), root.GetProperty("status").GetString()));
        Assert.Equal(1, root.GetProperty("severity_id").GetInt32());
        Assert.False(root.TryGetProperty("status_code", out _));

        var actor = root.GetProperty("actor");
        Assert.Equal("alice@example.com", actor.GetProperty("user").GetProperty("uid").GetString());
        Assert.Equal("agent:B", actor.GetProperty("app_uid").GetString());
        Assert.Equal("jti-42", actor.GetProperty("session").GetProperty("credential_uid").GetString());
        Assert.Equal("https://idp.example", actor.GetProperty("session").GetProperty("issuer").GetString());
        var authorization = Assert.Single(actor.GetProperty("authorizations").EnumerateArray().ToList());
        Assert.Equal("allow", authorization.GetProperty("decision").GetString());
        Assert.Equal(new string('a', 64), authorization.GetProperty("policy").GetProperty("uid").GetString());
        Assert.Equal("crm-get-customer", authorization.GetProperty("policy").GetProperty("name").GetString());

        var api = root.GetProperty("api");
        Assert.Equal("crm.customers:read", api.GetProperty("operation").GetString());
        Assert.Equal(auditEvent.EventId, api.GetProperty("request").GetProperty("uid").GetString());
        Assert.Equal(200, api.GetProperty("response").GetProperty("code").GetInt32());
        Assert.Equal("crm", api.GetProperty("service").GetProperty("name").GetString());

        Assert.Equal("GET", root.GetProperty("http_request").GetProperty("http_method").GetString());
        Assert.Equal("/crm/customers/42", root.GetProperty("http_request").GetProperty("url").GetProperty("path").GetString());
        var resource = Assert.Single(root.GetProperty("resources").EnumerateArray().ToList());
        Assert.Equal(("crm:customer/42", "crm:customer"), (resource.GetProperty("uid").GetString(), resource.GetProperty("type").GetString()));

        var metadata = root.GetProperty("metadata");
        Assert.Equal("1.3.0", metadata.GetProperty("version").GetString());
        Assert.Equal("Gateway", metadata.GetProperty("product").GetProperty("name").GetString());
        Assert.Equal("Example Corp", metadata.GetProperty("product").GetProperty("vendor_name").GetString());
        Assert.Equal(auditEvent.EventId, metadata.GetProperty("uid").GetString());
        Assert.Equal(auditEvent.TraceId, metadata.GetProperty("correlation_uid").GetString());

        var unmapped = root.GetProperty("unmapped");
        Assert.Equal("allow", unmapped.GetProperty("decision").GetString());
        Assert.Equal(("r1", 3L), (unmapped.GetProperty("replica").GetString(), unmapped.GetProperty("seq").GetInt64()));
        Assert.Equal(auditEvent.Hash, unmapped.GetProperty("hash").GetString());
        Assert.Equal(49, unmapped.GetProperty("budget").GetProperty("steps_left").GetInt32());
        Assert.Equal("explicit", unmapped.GetProperty("token").GetProperty("intent").GetString());
        Assert.Equal(["jti-parent"], unmapped.GetProperty("token").GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void ToJson_RefusedEvent_IsApiActivityDeleteFailureWithTheCode()
    {
        var auditEvent = Chained(AuditTestData.Refused(7));

        using var json = JsonDocument.Parse(OcsfExporter.ToJson(auditEvent));
        var root = json.RootElement;

        Assert.Equal((4, 600304), (root.GetProperty("activity_id").GetInt32(), root.GetProperty("type_uid").GetInt32()));
        Assert.Equal((2, "Failure"), (root.GetProperty("status_id").GetInt32(), root.GetProperty("status").GetString()));
        Assert.Equal("insufficient_scope", root.GetProperty("status_code").GetString());
        Assert.Equal(3, root.GetProperty("severity_id").GetInt32());
        Assert.Equal(403, root.GetProperty("api").GetProperty("response").GetProperty("code").GetInt32());
        Assert.Equal("insufficient_scope", root.GetProperty("api").GetProperty("response").GetProperty("error").GetString());
        Assert.Equal("deny", root.GetProperty("actor").GetProperty("authorizations")[0].GetProperty("decision").GetString());
        Assert.Equal(new string('b', 64), root.GetProperty("unmapped").GetProperty("body_sha256").GetString());
        Assert.Contains("insufficient_scope", root.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", 1)]
    [InlineData("GET", 2)]
    [InlineData("HEAD", 2)]
    [InlineData("PUT", 3)]
    [InlineData("PATCH", 3)]
    [InlineData("DELETE", 4)]
    [InlineData("OPTIONS", 99)]
    [InlineData(null, 99)]
    public void ActivityId_HttpMethod_MapsToCrud(string? method, int expected)
    {
        Assert.Equal(expected, OcsfExporter.ActivityId(method));
    }

    [Fact]
    public async Task ExportAsync_AuditFile_WritesOneOcsfLinePerEvent()
    {
        var file = _folder.File("decisions.jsonl");
        await File.WriteAllLinesAsync(file, [
            Encoding.UTF8.GetString(AuditEventSerializer.ToCanonicalJson(Chained(AuditTestData.Allowed(1)))),
            Encoding.UTF8.GetString(AuditEventSerializer.ToCanonicalJson(Chained(AuditTestData.Refused(2)))),
        ]);
        using var output = new MemoryStream();

        var count = await OcsfExporter.ExportAsync([file], output);

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, count);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal(6003, JsonDocument.Parse(l).RootElement.GetProperty("class_uid").GetInt32()));
    }

    [Fact]
    public async Task ExportAsync_LineThatIsNoEvent_NamesFileAndLine()
    {
        var file = _folder.File("decisions.jsonl");
        await File.WriteAllTextAsync(file, Encoding.UTF8.GetString(AuditEventSerializer.ToCanonicalJson(Chained(AuditTestData.Allowed()))) + "\n{\"x\":1}\n");

        var failure = await Assert.ThrowsAsync<FormatException>(() => OcsfExporter.ExportAsync([file], Stream.Null));

        Assert.StartsWith(file + ":2: ", failure.Message, StringComparison.Ordinal);
    }

    private static AuditEvent Chained(AuditEvent auditEvent) =>
        auditEvent with { Replica = "r1", Seq = 3, PrevHash = new string('1', 64), Hash = new string('2', 64) };
}
