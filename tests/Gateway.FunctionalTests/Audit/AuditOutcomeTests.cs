using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Audit;

/// <summary>
/// One gateway with an audit file in front of an upstream that answers by path: a small JSON body, a 50 MB stream it
/// holds back halfway, a long body for a client that hangs up, and a body it breaks off itself.
/// </summary>
public sealed class AuditOutcomeFixture : IAsyncLifetime
{
    public const int BigLength = 50 * 1024 * 1024;
    public const int CutLength = 16 * 1024 * 1024;
    public const string SmallBody = """{"id":"42","name":"Ada Lovelace","tier":"gold"}""";

    private readonly AuditFolder _folder = new();

    public TestIssuer Issuer { get; } = new();
    public TelemetryCapture Capture { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;
    public string LiveFile => _folder.LiveFile;

    /// <summary>Set by the test once the client has read the first half of the big body; the upstream waits for it.</summary>
    public TaskCompletionSource HalfwaySeen { get; private set; } = NewGate();

    /// <summary>Set by the upstream when the cut-off body's writes began to fail (the gateway gave up on it).</summary>
    public TaskCompletionSource CutWritesStopped { get; private set; } = NewGate();

    public async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Upstream.Respond = RespondAsync;
        Gateway = await TestGateway.StartAsync(Issuer, Upstream, AuditTrail.Policy(_folder.LiveFile), configure: Capture.Configure);
    }

    public void ResetGates()
    {
        HalfwaySeen = NewGate();
        CutWritesStopped = NewGate();
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
        _folder.Dispose();
    }

    /// <summary>The big body's bytes: a fixed pseudo-random sequence, so the test knows its digest without keeping it.</summary>
    public static byte[] Chunk(int index)
    {
        var chunk = new byte[64 * 1024];
        new Random(index).NextBytes(chunk);
        return chunk;
    }

    public static string BigDigest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var i = 0; i < BigLength / (64 * 1024); i++)
        {
            hash.AppendData(Chunk(i));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<bool> RespondAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.EndsWith("/out-small", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(SmallBody);
            return true;
        }

        if (path.EndsWith("/out-big", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = BigLength;
            var chunks = BigLength / (64 * 1024);
            for (var i = 0; i < chunks; i++)
            {
                if (i == chunks / 2)
                {
                    // Nothing more until the client has the first half: a gateway that held the body back would wait forever.
                    await context.Response.Body.FlushAsync();
                    await HalfwaySeen.Task.WaitAsync(TimeSpan.FromSeconds(60));
                }

                await context.Response.Body.WriteAsync(Chunk(i));
            }

            return true;
        }

        if (path.EndsWith("/out-cut", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = CutLength;
            try
            {
                for (var i = 0; i < CutLength / (64 * 1024); i++)
                {
                    await context.Response.Body.WriteAsync(Chunk(i), context.RequestAborted);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                CutWritesStopped.TrySetResult();
            }

            return true;
        }

        if (path.EndsWith("/out-abort", StringComparison.Ordinal))
        {
            // Promises a megabyte, sends 100 KB and drops the connection.
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = 1024 * 1024;
            await context.Response.Body.WriteAsync(new byte[100 * 1024]);
            await context.Response.Body.FlushAsync();
            context.Abort();
            return true;
        }

        return false;
    }
}

/// <summary>
/// The audit event's <c>outcome</c> and <c>links</c> (issue 18) through a real gateway in front of a real upstream: what the
/// upstream answered and what of it the client got, and what prompt, conversation and grant the call is tied to.
/// </summary>
public sealed class AuditOutcomeTests(AuditOutcomeFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<AuditOutcomeFixture>
{
    private const string PromptDigest = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

    [Fact]
    public async Task Allowed_SmallResponse_OutcomeHasTheUpstreamStatusBytesAndDigestOfWhatTheClientGot()
    {
        using var response = await SendAsync(HttpMethod.Get, "/crm/customers/out-small", Mint("crm:customer/out-small"));
        var received = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(AuditOutcomeFixture.SmallBody, Encoding.UTF8.GetString(received));
        var audit = await EventAsync(response);
        var outcome = audit.GetProperty("outcome");
        Assert.Equal(200, outcome.GetProperty("status").GetInt32());
        Assert.Equal(received.Length, outcome.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(received)), outcome.GetProperty("body_sha256").GetString());
        Assert.True(outcome.GetProperty("complete").GetBoolean());
        Assert.Equal(JsonValueKind.Null, outcome.GetProperty("error").ValueKind);
        Assert.True(outcome.GetProperty("duration_ms").GetInt64() >= 0);
        Assert.Equal(0, audit.GetProperty("links").GetProperty("grant").GetInt32());
    }

    [Fact]
    public async Task Allowed_50MegabyteStream_IsDigestedAsItStreamsWithoutTheGatewayHoldingIt()
    {
        fixture.ResetGates();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        using var request = Request(HttpMethod.Get, "/crm/customers/out-big", Mint("crm:customer/out-big"));
        using var response = await fixture.Gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        long total = 0;
        long? halfway = null;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
            if (halfway is null && total >= AuditOutcomeFixture.BigLength / 2)
            {
                // The upstream has sent half and waits: whatever the gateway keeps of the body is on the heap now.
                halfway = GC.GetTotalMemory(forceFullCollection: true) - baseline;
                fixture.HalfwaySeen.TrySetResult();
            }
        }

        var digest = Convert.ToHexStringLower(hash.GetHashAndReset());
        Assert.Equal(AuditOutcomeFixture.BigLength, total);
        Assert.NotNull(halfway);
        output.WriteLine($"heap growth with half of the body through: {halfway} bytes");
        Assert.True(halfway < 8 * 1024 * 1024, $"the heap grew by {halfway} bytes with 25 MB of the body through the gateway");
        Assert.Equal(AuditOutcomeFixture.BigDigest(), digest);
        var outcome = (await EventAsync(response)).GetProperty("outcome");
        Assert.Equal(AuditOutcomeFixture.BigLength, outcome.GetProperty("bytes").GetInt64());
        Assert.Equal(digest, outcome.GetProperty("body_sha256").GetString());
        Assert.True(outcome.GetProperty("complete").GetBoolean());
    }

    [Fact]
    public async Task Allowed_ClientHangsUpMidResponse_OutcomeSaysIncomplete()
    {
        fixture.ResetGates();
        string decisionId;
        long clientGot = 0;
        using (var request = Request(HttpMethod.Get, "/crm/customers/out-cut", Mint("crm:customer/out-cut")))
        using (var response = await fixture.Gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            while (clientGot < 256 * 1024)
            {
                clientGot += await body.ReadAsync(buffer);
            }
        }

        var outcome = (await AuditTrail.WaitForEventAsync(fixture.LiveFile, decisionId)).GetProperty("outcome");
        Assert.False(outcome.GetProperty("complete").GetBoolean());
        Assert.StartsWith("response_body_", outcome.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, outcome.GetProperty("status").GetInt32());
        var bytes = outcome.GetProperty("bytes").GetInt64();
        Assert.InRange(bytes, clientGot, AuditOutcomeFixture.CutLength - 1);
    }

    [Fact]
    public async Task Allowed_UpstreamBreaksOff_OutcomeSaysIncompleteWithWhatWasSent()
    {
        using var request = Request(HttpMethod.Get, "/crm/customers/out-abort", Mint("crm:customer/out-abort"));
        using var response = await fixture.Gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();
        await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsByteArrayAsync());

        var outcome = (await AuditTrail.WaitForEventAsync(fixture.LiveFile, decisionId)).GetProperty("outcome");
        Assert.False(outcome.GetProperty("complete").GetBoolean());
        Assert.Equal("response_body_destination", outcome.GetProperty("error").GetString());
        Assert.InRange(outcome.GetProperty("bytes").GetInt64(), 0, 100 * 1024);
    }

    [Fact]
    public async Task Links_PromptDigestAndConversation_RecordedAsSentAndNotForwarded()
    {
        using var request = Request(HttpMethod.Get, "/crm/customers/out-small", Mint("crm:customer/out-small"));
        request.Headers.Add("Gateway-Prompt-Sha256", PromptDigest);
        request.Headers.Add("baggage", "tenant=acme, gen_ai.conversation.id=conv_5j66UpCpwteGg4YSxUnt7lPY;ttl=60");
        using var response = await fixture.Gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var links = (await EventAsync(response)).GetProperty("links");
        Assert.Equal(PromptDigest, links.GetProperty("prompt_sha256").GetString());
        Assert.Equal("conv_5j66UpCpwteGg4YSxUnt7lPY", links.GetProperty("conversation_id").GetString());
        Assert.Equal(["conversation_id", "prompt_sha256"], links.GetProperty("claimed").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(links.GetProperty("malformed").EnumerateArray());
        var forwarded = fixture.Upstream.Received.Single(r => r.Headers.TryGetValue("Gateway-Decision-Id", out var id) && id == response.Headers.GetValues("Gateway-Decision-Id").Single());
        Assert.False(forwarded.Headers.ContainsKey("Gateway-Prompt-Sha256"));
    }

    [Fact]
    public async Task Links_Malformed_RecordedAsAbsentWithAWarningNotARefusal()
    {
        using var request = Request(HttpMethod.Get, "/crm/customers/out-small", Mint("crm:customer/out-small"));
        request.Headers.Add("Gateway-Prompt-Sha256", "Summarise every customer and mail the list to me");
        request.Headers.Add("baggage", "gen_ai.conversation.id=" + new string('x', 200));
        using var response = await fixture.Gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();
        var audit = await EventAsync(response);
        var links = audit.GetProperty("links");
        Assert.Equal(JsonValueKind.Null, links.GetProperty("prompt_sha256").ValueKind);
        Assert.Equal(JsonValueKind.Null, links.GetProperty("conversation_id").ValueKind);
        Assert.Equal(["conversation_id", "prompt_sha256"], links.GetProperty("malformed").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(links.GetProperty("claimed").EnumerateArray());
        Assert.DoesNotContain("Summarise", File.ReadAllText(fixture.LiveFile), StringComparison.Ordinal);
        var warnings = fixture.Capture.Logs.Entries.Snapshot().Where(e => e.Level == LogLevel.Warning && e.Text.Contains(decisionId, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.DoesNotContain("Summarise", w.Text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Links_OnARefusal_RecordedWithoutAnOutcome()
    {
        using var request = Request(HttpMethod.Get, "/crm/customers/out-small", Mint("crm:customer/someone-else"));
        request.Headers.Add("Gateway-Prompt-Sha256", PromptDigest);
        using var response = await fixture.Gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var audit = await EventAsync(response);
        Assert.Equal(PromptDigest, audit.GetProperty("links").GetProperty("prompt_sha256").GetString());
        Assert.Equal(JsonValueKind.Null, audit.GetProperty("links").GetProperty("grant").ValueKind);
        Assert.Equal(JsonValueKind.Null, audit.GetProperty("outcome").ValueKind);
    }

    [Fact]
    public async Task Links_SeveralGrantEntries_NameTheEntryThatAllowedTheCall()
    {
        var claims = fixture.Issuer.Claims();
        var evidence = "sha256:" + new string('5', 64);
        claims["authorization_details"] = JsonNode.Parse("""
            [
              {"type":"payment_initiation","instructedAmount":{"currency":"EUR","amount":"1.00"}},
              {"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/grant-a"]},
              {"type":"agent_capability","actions":["crm.notes:read"],"resources":["crm:customer/*/note/*"]},
              {"type":"agent_capability","actions":["crm.customers:*"],"resources":["crm:customer/*"]}
            ]
            """);
        claims["cap"] = new JsonObject { ["intent"] = new JsonObject { ["method"] = "explicit", ["evidence"] = evidence } };
        var token = fixture.Issuer.Mint(claims);

        using var first = await SendAsync(HttpMethod.Get, "/crm/customers/grant-a", token);
        using var last = await SendAsync(HttpMethod.Get, "/crm/customers/grant-b", token);
        using var note = await SendAsync(HttpMethod.Get, "/crm/customers/grant-a/notes/n1", token);

        var firstLinks = (await EventAsync(first)).GetProperty("links");
        Assert.Equal(1, firstLinks.GetProperty("grant").GetInt32());
        Assert.Equal(evidence, firstLinks.GetProperty("intent_evidence").GetString());
        Assert.Equal(3, (await EventAsync(last)).GetProperty("links").GetProperty("grant").GetInt32());
        Assert.Equal(2, (await EventAsync(note)).GetProperty("links").GetProperty("grant").GetInt32());
    }

    [Fact]
    public async Task Metric_ResponseBytes_CountedByRouteAndTier()
    {
        using var response = await SendAsync(HttpMethod.Get, "/crm/customers/out-small", Mint("crm:customer/out-small"));
        _ = await response.Content.ReadAsByteArrayAsync();
        _ = await EventAsync(response);

        TelemetryCapture.Flush(fixture.Gateway.Services);
        var points = fixture.Capture.Metrics.Snapshot()
            .Where(m => m.Name == "gateway.upstream.response.bytes")
            .SelectMany(m => m.MetricPoints)
            .ToList();
        Assert.NotEmpty(points);
        var tags = points.Select(p => Tags(p)).ToList();
        Assert.Contains(tags, t => t.GetValueOrDefault("route") == "crm-get-customer" && t.GetValueOrDefault("tier") == "low");
        Assert.All(tags, t => Assert.Equal(["route", "tier"], t.Keys.Order(StringComparer.Ordinal)));
    }

    private static Dictionary<string, string?> Tags(OpenTelemetry.Metrics.MetricPoint point)
    {
        var tags = new Dictionary<string, string?>();
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value?.ToString();
        }

        return tags;
    }

    private string Mint(string resource) => fixture.Issuer.Mint(fixture.Issuer.Claims(resource: resource));

    private static HttpRequestMessage Request(HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token) =>
        fixture.Gateway.Client.SendAsync(Request(method, path, token));

    private Task<JsonElement> EventAsync(HttpResponseMessage response) =>
        AuditTrail.WaitForEventAsync(fixture.LiveFile, response.Headers.GetValues("Gateway-Decision-Id").Single());
}
