using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Gateway.FunctionalTests.Cli;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Audit;

/// <summary>
/// The outcome and links members on a trail the real command line reads: the chain still verifies, the OCSF export
/// carries them, and a gateway killed in the middle of a call leaves the documented trace (docs/audit.md, "When it is written").
/// </summary>
public sealed class AuditOutcomeTrailTests
{
    private const string PromptDigest = "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e";

    [Fact]
    public async Task Trail_WithOutcomesAndLinks_VerifiesAndExportsThemToOcsf()
    {
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var decisions = new List<string>();
        var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile));
        try
        {
            var token = issuer.Mint();
            for (var i = 0; i < 20; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, i % 5 == 4 ? "/crm/customers/7" : "/crm/customers/42");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                request.Headers.Add("Gateway-Prompt-Sha256", PromptDigest);
                request.Headers.Add("baggage", "gen_ai.conversation.id=conv-" + (i % 3));
                using var response = await gateway.Client.SendAsync(request);
                decisions.Add(response.Headers.GetValues("Gateway-Decision-Id").Single());
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var verify = await AuditCli.RunAsync("audit", "verify", folder.LiveFile);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("ok: 20 events in 1 chain(s)", verify.Output, StringComparison.Ordinal);

        var export = await AuditCli.RunAsync("audit", "export", "--format", "ocsf", folder.LiveFile);
        Assert.True(export.ExitCode == 0, export.ToString());
        var lines = export.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(decisions, lines.Select(l => l.GetProperty("metadata").GetProperty("uid").GetString()));
        var allowed = lines.Where(l => l.GetProperty("unmapped").GetProperty("decision").GetString() == "allow").ToList();
        var refused = lines.Where(l => l.GetProperty("unmapped").GetProperty("decision").GetString() == "deny").ToList();
        Assert.Equal((16, 4), (allowed.Count, refused.Count));
        Assert.All(allowed, l =>
        {
            Assert.Equal(200, l.GetProperty("http_response").GetProperty("code").GetInt32());
            Assert.Equal(11, l.GetProperty("http_response").GetProperty("length").GetInt64());
            Assert.Equal(11, l.GetProperty("traffic").GetProperty("bytes_in").GetInt64());
            Assert.True(l.GetProperty("unmapped").GetProperty("outcome").GetProperty("complete").GetBoolean());
            Assert.Equal(0, l.GetProperty("unmapped").GetProperty("links").GetProperty("grant").GetInt32());
        });
        Assert.All(refused, l => Assert.False(l.TryGetProperty("http_response", out _)));
        Assert.All(lines, l => Assert.Equal(PromptDigest, l.GetProperty("unmapped").GetProperty("links").GetProperty("prompt_sha256").GetString()));
        Assert.Equal(["conv-0", "conv-1", "conv-2"], lines.Select(l => l.GetProperty("unmapped").GetProperty("links").GetProperty("conversation_id").GetString()).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Serve_KilledMidCall_TrailHoldsEveryFinishedCallAndVerifies_TheCallInFlightIsTracedByItsDecisionIdAndBudget()
    {
        using var issuer = new TestIssuer();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync();
        upstream.Respond = async context =>
        {
            if (context.Request.Path.Value?.EndsWith("/held", StringComparison.Ordinal) != true)
            {
                return false;
            }

            // Headers and a first chunk go out; the rest never comes before the gateway dies.
            context.Response.ContentLength = 1024 * 1024;
            await context.Response.Body.WriteAsync(new byte[4096]);
            await context.Response.Body.FlushAsync();
            held.TrySetResult();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { }, TaskScheduler.Default);
            return true;
        };

        using var policy = new CliPolicy(issuer, AuditTrail.Policy("audit/decisions.jsonl"), upstream.Address.ToString().TrimEnd('/'));
        var liveFile = Path.Combine(policy.Directory, "audit", "decisions.jsonl");
        var port = FreePort();
        var adminPort = FreePort();
        using var process = GatewayProcess.Start(
            ["serve", "--config", policy.PolicyPath, "--urls", $"http://127.0.0.1:{port}", "--admin-urls", $"http://127.0.0.1:{adminPort}"],
            new Dictionary<string, string?> { ["GATEWAY_ADMIN_KEY"] = TestGateway.AdminKey });

        // Drained, so a full pipe never blocks the gateway's logging.
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitUntilServingAsync(adminPort, process, errors);
            var token = issuer.Mint(issuer.Claims(resource: "crm:customer/*"));

            var finished = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                using var response = await client.SendAsync(Get($"/crm/customers/done-{i}", token));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                finished.Add(response.Headers.GetValues("Gateway-Decision-Id").Single());
            }

            foreach (var id in finished)
            {
                _ = await AuditTrail.WaitForEventAsync(liveFile, id);
            }

            using var inFlight = await client.SendAsync(Get("/crm/customers/held", token), HttpCompletionOption.ResponseHeadersRead);
            var heldId = inFlight.Headers.GetValues("Gateway-Decision-Id").Single();
            var stepsLeft = int.Parse(inFlight.Headers.GetValues("Gateway-Steps-Remaining").Single(), System.Globalization.CultureInfo.InvariantCulture);
            await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();

            var events = AuditTrail.ReadEvents(liveFile);
            Assert.Equal(finished, events.Select(e => e.GetProperty("event_id").GetString()));
            Assert.DoesNotContain(heldId, File.ReadAllText(liveFile), StringComparison.Ordinal);

            // What traces the call in flight: the upstream got its decision id, and the token's steps_left skips its step.
            var atUpstream = upstream.Received.Single(r => r.Path == "/crm/customers/held");
            Assert.Equal(heldId, atUpstream.Headers["Gateway-Decision-Id"]);
            Assert.Equal([stepsLeft + 3, stepsLeft + 2, stepsLeft + 1], events.Select(e => e.GetProperty("budget").GetProperty("steps_left").GetInt32()));

            var verify = await AuditCli.RunAsync("audit", "verify", liveFile);
            Assert.True(verify.ExitCode == 0, verify.ToString());
        }
        finally
        {
            release.TrySetResult();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            _ = await output;
            _ = await errors;
        }
    }

    private static HttpRequestMessage Get(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    // Asks the admin listener, so the probe leaves no decision in the trail.
    private static async Task WaitUntilServingAsync(int adminPort, Process process, Task<string> errors)
    {
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            Assert.False(process.HasExited, "gateway serve exited: " + (process.HasExited ? await errors : ""));
            try
            {
                using var response = await admin.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                await Task.Delay(200);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
