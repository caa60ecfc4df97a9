using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.PolicyTesting;

/// <summary><c>gateway diff</c> through the real command line, and its replay over an audit log a real gateway run wrote.</summary>
public sealed class PolicyDiffCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-diff-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Diff_EveryKindOfChange_IsListedInTextAndJson_Exit1()
    {
        using var issuer = new TestIssuer();
        var before = WritePolicy("old.yaml", issuer, TestPolicies.Default);
        var edited = TestPolicies.Default
            .Replace("medium:   { risk: 5 }", "medium:   { risk: 8 }", StringComparison.Ordinal)
            .Replace("risk:  { limit: 1000000, window: 24h, on_exceed: deny }", "risk:  { limit: 500, window: 24h, on_exceed: approval }", StringComparison.Ordinal)
            .Replace("""
                  - id: crm-get-note
                    match: { methods: [GET], path: /crm/customers/{customerId}/notes/{noteId} }
                    upstream: crm
                    action: crm.notes:read
                    resource: crm:customer/{customerId}/note/{noteId}
                    tier: low
                """, """
                  - id: crm-get-invoice
                    match: { methods: [GET], path: /crm/invoices/{invoiceId} }
                    upstream: crm
                    action: crm.invoices:read
                    resource: crm:invoice/{invoiceId}
                    tier: low
                """, StringComparison.Ordinal)
            .Replace("""
                    action: crm.customers:update
                    resource: crm:customer/{customerId}
                    tier: medium
                """, """
                    action: crm.customers:write
                    resource: crm:record/{customerId}
                    tier: medium
                    approval: required
                """, StringComparison.Ordinal)
            .Replace("step_up: { acr: [ \"urn:test:mfa\" ], max_age: 5m }", "step_up: { acr: [ \"urn:test:mfa\" ], max_age: 1m }", StringComparison.Ordinal)
            .Replace("""
                    tier: low
                    mode: shadow
                """, """
                    tier: low
                """, StringComparison.Ordinal)
            .Replace("""
                    resource: crm:customer/{customerId}
                    tier: low
                """, """
                    resource: crm:customer/{customerId}
                    tier: high
                """, StringComparison.Ordinal);
        var after = WritePolicy("new.yaml", issuer, edited);

        var json = await AuditCli.RunAsync("diff", before, after, "--format", "json");
        var text = await AuditCli.RunAsync("diff", before, after);
        var same = await AuditCli.RunAsync("diff", before, before);

        Assert.True(json.ExitCode == 1, json.ToString());
        var root = JsonDocument.Parse(json.Output).RootElement;
        var routes = root.GetProperty("routes");
        Assert.Equal("crm-get-invoice", Assert.Single(routes.GetProperty("added").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal("crm-get-note", Assert.Single(routes.GetProperty("removed").EnumerateArray()).GetProperty("id").GetString());
        var changed = routes.GetProperty("changed").EnumerateArray().ToDictionary(
            r => r.GetProperty("name").GetString()!,
            r => r.GetProperty("changes").EnumerateArray().Select(c => $"{c.GetProperty("field").GetString()}: {c.GetProperty("old").GetString()} -> {c.GetProperty("new").GetString()}").ToList());
        Assert.Equal(["tier: low -> high", "risk: 1 -> 20", "min_intent: policy -> explicit"], changed["crm-get-customer"]);
        Assert.Equal(["action: crm.customers:update -> crm.customers:write", "resource: crm:customer/{customerId} -> crm:record/{customerId}", "risk: 5 -> 8", "approval: none -> required"], changed["crm-update-customer"]);
        Assert.Equal(["risk: 5 -> 8", "step_up: acr [urn:test:mfa] max_age 5m -> acr [urn:test:mfa] max_age 1m"], changed["crm-export"]);
        Assert.Equal(["mode: shadow -> enforce"], changed["crm-shadow"]);
        // Every other medium-tier route gets the tier's new risk, and nothing else.
        Assert.All(changed.Where(c => c.Key is not ("crm-get-customer" or "crm-update-customer" or "crm-export" or "crm-shadow")), c => Assert.Equal(["risk: 5 -> 8"], c.Value));
        var tier = Assert.Single(root.GetProperty("tiers").GetProperty("changed").EnumerateArray());
        Assert.Equal("medium", tier.GetProperty("name").GetString());
        Assert.Equal(["risk.limit", "risk.on_exceed"], root.GetProperty("budgets").EnumerateArray().Select(b => b.GetProperty("field").GetString()));

        Assert.True(text.ExitCode == 1, text.ToString());
        Assert.Contains($"Routes: 1 added, 1 removed, {changed.Count} changed", text.Output, StringComparison.Ordinal);
        Assert.Contains("  ~ crm-shadow: mode shadow -> enforce", text.Output, StringComparison.Ordinal);
        Assert.Contains("Budgets: risk.limit 1000000 -> 500; risk.on_exceed deny -> approval", text.Output, StringComparison.Ordinal);

        Assert.True(same.ExitCode == 0, same.ToString());
        Assert.Contains("Routes: 0 added, 0 removed, 0 changed", same.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiffAudit_ReplaysARealGatewayRun_FindsTheCallsThatChangeDecisionAndThoseThatDoNot()
    {
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        var before = WritePolicy("old.yaml", issuer, AuditTrail.Policy(folder.LiveFile), upstream: null);
        await using (var upstream = await UpstreamServer.StartAsync())
        {
            var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile));
            try
            {
                var planner = issuer.Claims(action: "crm.customers:read", resource: "crm:customer/42");
                ((JsonArray)planner["authorization_details"]!).Add(new JsonObject
                {
                    ["type"] = "agent_capability",
                    ["actions"] = new JsonArray("crm.customers:list"),
                    ["resources"] = new JsonArray("crm:region/emea"),
                });
                var plannerToken = issuer.Mint(planner);
                var supportToken = issuer.Mint(issuer.Claims(action: "crm.customers:update", resource: "crm:customer/*", sub: "user:bob", agent: "agent:support"));
                for (var i = 0; i < 3; i++)
                {
                    await SendAsync(gateway, HttpMethod.Get, "/crm/customers/42", plannerToken, HttpStatusCode.OK);
                }

                await SendAsync(gateway, HttpMethod.Get, "/crm/customers?region=emea", plannerToken, HttpStatusCode.OK);
                await SendAsync(gateway, HttpMethod.Get, "/crm/customers?region=emea", plannerToken, HttpStatusCode.OK);
                await SendAsync(gateway, HttpMethod.Get, "/crm/customers/7", plannerToken, HttpStatusCode.Forbidden);
                await SendAsync(gateway, HttpMethod.Get, "/crm/customers/42", null, HttpStatusCode.Unauthorized);
                await SendAsync(gateway, new HttpMethod("PATCH"), "/crm/customers/42", supportToken, HttpStatusCode.OK);
                await SendAsync(gateway, new HttpMethod("PATCH"), "/crm/customers/43", supportToken, HttpStatusCode.OK);
            }
            finally
            {
                await gateway.DisposeAsync();
            }
        }

        // The edit: customer reads move from low to high (explicit intent), and listing regions becomes medium.
        var edited = File.ReadAllText(before)
            .Replace("""
                    resource: crm:customer/{customerId}
                    tier: low
                """, """
                    resource: crm:customer/{customerId}
                    tier: high
                """, StringComparison.Ordinal)
            .Replace("""
                    resource: crm:region/{query.region}
                    tier: low
                """, """
                    resource: crm:region/{query.region}
                    tier: medium
                """, StringComparison.Ordinal);
        var after = Path.Combine(_folder, "new.yaml");
        await File.WriteAllTextAsync(after, edited);

        var result = await AuditCli.RunAsync("diff", before, after, "--audit", folder.LiveFile, "--since", "1h", "--format", "json");
        var text = await AuditCli.RunAsync("diff", before, after, "--audit", folder.LiveFile);

        Assert.True(result.ExitCode == 1, result.ToString());
        var replay = JsonDocument.Parse(result.Output).RootElement.GetProperty("replay");
        Assert.Equal(8, replay.GetProperty("replayed").GetInt64());
        Assert.Equal(5, replay.GetProperty("unchanged").GetInt64());
        Assert.Equal(3, replay.GetProperty("changed").GetInt64());

        // Replaying the old policy reproduces every recorded decision, the list calls with their query included.
        Assert.Equal(0, replay.GetProperty("differs_from_record").GetInt64());
        Assert.Equal(1, replay.GetProperty("skipped").GetProperty("refused before the token was validated").GetInt64());
        var change = Assert.Single(replay.GetProperty("changes").EnumerateArray());
        Assert.Equal("crm-get-customer", change.GetProperty("route").GetString());
        Assert.Equal("agent:planner", change.GetProperty("agent").GetString());
        Assert.Equal("allow", change.GetProperty("old").GetString());
        Assert.Equal("deny insufficient_user_authentication", change.GetProperty("new").GetString());
        Assert.Equal(3, change.GetProperty("count").GetInt64());

        Assert.Contains("crm-get-customer: this edit would have refused 3 call(s) of agent:planner (allow -> deny insufficient_user_authentication)", text.Output, StringComparison.Ordinal);
    }

    private static async Task SendAsync(TestGateway gateway, HttpMethod method, string path, string? token, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        if (method.Method == "PATCH")
        {
            request.Content = new StringContent("{\"email\":\"a@example.com\"}", System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    private string WritePolicy(string name, TestIssuer issuer, string policy, string? upstream = "http://127.0.0.1:9")
    {
        File.WriteAllText(Path.Combine(_folder, "idp.jwks.json"), issuer.JwksJson);
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, policy
            .Replace("{{UPSTREAM}}", upstream ?? "http://127.0.0.1:9", StringComparison.Ordinal)
            .Replace("{{ISSUER}}", issuer.Issuer, StringComparison.Ordinal)
            .Replace("{{AUDIENCE}}", TestIssuer.Audience, StringComparison.Ordinal));
        return path;
    }
}
