using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Audit;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Audit;

/// <summary>
/// The audit trail as the gateway writes it (contract section 7, issue 5): real Kestrel, a real
/// upstream, <c>audit.file</c> in the policy, and the chain checked afterwards by the real
/// <c>gateway audit verify</c> command.
/// </summary>
public sealed class GatewayAuditTests
{
    private enum Kind
    {
        Allowed,
        ShadowDenied,
        OutOfScope,
        NoToken,
        NoRoute,
    }

    [Fact]
    public async Task AuditFile_ConcurrentMixedTraffic_ChainVerifiesWithOneEventPerRequest()
    {
        const int Requests = 500;
        const int Tasks = 16;
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile));
        var token = issuer.Mint();
        var sent = new ConcurrentDictionary<string, Kind>(StringComparer.Ordinal);
        var next = -1;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Tasks).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < Requests)
                {
                    var kind = (Kind)(i % 5);
                    using var request = kind switch
                    {
                        Kind.Allowed => Get("/crm/customers/42", token),
                        Kind.ShadowDenied => Get("/crm/shadow/9", token), // out of scope, shadow mode: forwarded
                        Kind.OutOfScope => Get("/crm/customers/7", token),
                        Kind.NoToken => Get("/crm/customers/42", null),
                        _ => Get("/nowhere/at/all", token),
                    };
                    using var response = await gateway.Client.SendAsync(request);
                    var expected = kind switch
                    {
                        Kind.Allowed or Kind.ShadowDenied => HttpStatusCode.OK,
                        Kind.OutOfScope => HttpStatusCode.Forbidden,
                        Kind.NoToken => HttpStatusCode.Unauthorized,
                        _ => HttpStatusCode.NotFound,
                    };
                    Assert.Equal(expected, response.StatusCode);
                    Assert.True(sent.TryAdd(response.Headers.GetValues("Gateway-Decision-Id").Single(), kind), "decision ids are unique");
                }
            })));
        }
        finally
        {
            // Stopping drains the listeners, then the writer: every request answered is on disk.
            await gateway.DisposeAsync();
        }

        var verify = await AuditCli.RunAsync("audit", "verify", folder.LiveFile);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.StartsWith($"ok: {Requests} events in 1 chain(s)", verify.Output, StringComparison.Ordinal);

        var events = AuditTrail.ReadEvents(folder.LiveFile);
        Assert.Equal(Requests, sent.Count);
        Assert.Equal(Requests, events.Count);
        var byId = events.ToDictionary(e => e.GetProperty("event_id").GetString()!, StringComparer.Ordinal);
        Assert.Equal(sent.Keys.Order(StringComparer.Ordinal), byId.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, kind) in sent)
        {
            var decision = byId[id].GetProperty("decision").GetString();
            Assert.Equal(kind switch { Kind.Allowed => "allow", Kind.ShadowDenied => "shadow_deny", _ => "deny" }, decision);
        }

        // Allowed (forwarded) and refused, counted apart: 2 of every 5 kinds went through.
        var allowedSent = sent.Values.Count(k => k is Kind.Allowed or Kind.ShadowDenied);
        Assert.Equal(allowedSent, events.Count(e => e.GetProperty("decision").GetString() is "allow" or "shadow_deny"));
        Assert.Equal(Requests - allowedSent, events.Count(e => e.GetProperty("decision").GetString() == "deny"));
        Assert.Equal(Requests * 2 / 5, allowedSent);
        Assert.Equal(Enumerable.Range(1, Requests).Select(n => (long)n), events.Select(e => e.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task AuditFile_RotatedThroughTheGateway_VerifiesAcrossFilesAndCatchesAMissingFile()
    {
        const int Requests = 60;
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile, "  max_file_bytes: 4096"));
        var token = issuer.Mint();
        try
        {
            for (var i = 0; i < Requests; i++)
            {
                using var request = Get(i % 2 == 0 ? "/crm/customers/42" : "/crm/customers/7", token);
                using var response = await gateway.Client.SendAsync(request);
                Assert.Equal(i % 2 == 0 ? HttpStatusCode.OK : HttpStatusCode.Forbidden, response.StatusCode);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var files = JsonLinesAuditSink.GetChainFiles(folder.LiveFile);
        Assert.True(files.Count >= 5, $"expected the live file to rotate at 4096 bytes, got {files.Count} file(s)");
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 4096));
        Assert.Equal(Requests, AuditTrail.ReadEvents(folder.LiveFile).Count);

        // The live file alone brings its rotated files, oldest first.
        var verify = await AuditCli.RunAsync("audit", "verify", folder.LiveFile);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.StartsWith($"ok: {Requests} events in 1 chain(s), {files.Count} file(s)", verify.Output, StringComparison.Ordinal);

        // Only the newest file is a window of the chain: refused as a whole chain, accepted as a window.
        var alone = Path.Combine(folder.NewFolder("alone"), "decisions.jsonl");
        File.Copy(files[^1], alone);
        var whole = await AuditCli.RunAsync("audit", "verify", alone);
        Assert.True(whole.ExitCode == 1, whole.ToString());
        Assert.StartsWith($"{alone}:1: seq gap: ", whole.Error, StringComparison.Ordinal);
        var window = await AuditCli.RunAsync("audit", "verify", "--window", alone);
        Assert.True(window.ExitCode == 0, window.ToString());

        // A rotated file taken away: the break is at the first line of the file after it.
        File.Delete(files[2]);
        var missing = await AuditCli.RunAsync("audit", "verify", folder.LiveFile);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.StartsWith($"{files[3]}:1: seq gap: ", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revocation_ByAdminKey_IsAuditedWithTheKeyIdNeverTheKey()
    {
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile));
        var jti = "revoked-" + Guid.NewGuid().ToString("N");
        try
        {
            using var response = await gateway.AdminSendAsync(HttpMethod.Post, "/revocations", Json($$"""{"jti":"{{jti}}","reason":"incident 42"}"""));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var text = await File.ReadAllTextAsync(folder.LiveFile);
        var keySha256 = SHA256.HashData(Encoding.UTF8.GetBytes(TestGateway.AdminKey));
        var admin = Assert.Single(AuditTrail.ReadEvents(folder.LiveFile), e => e.GetProperty("decision").GetString() == "admin");
        Assert.Equal("revocation.create", admin.GetProperty("admin").GetProperty("action").GetString());
        Assert.Equal("jti:" + jti, admin.GetProperty("admin").GetProperty("target").GetString());

        // The admin API's key id (docs/audit.md): 12 hex digits of SHA-256 over the key's SHA-256,
        // the same id as in the admin log lines and approval records.
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(keySha256))[..12], admin.GetProperty("admin").GetProperty("key_id").GetString());
        Assert.Equal("POST", admin.GetProperty("request").GetProperty("method").GetString());
        Assert.Equal("/revocations", admin.GetProperty("request").GetProperty("path").GetString());
        Assert.Equal(201, admin.GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.Null, admin.GetProperty("token").ValueKind);
        Assert.DoesNotContain(TestGateway.AdminKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(keySha256), text, StringComparison.Ordinal);
        Assert.DoesNotContain("incident 42", text, StringComparison.Ordinal);
        Assert.True(AuditVerifier.Verify([folder.LiveFile]).IsValid);
    }

    private static HttpRequestMessage Get(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
