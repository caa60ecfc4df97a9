using System.Text.Json;
using Gateway.Audit;
using Gateway.FunctionalTests.Audit;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit.Abstractions;

namespace Gateway.FunctionalTests.Reporting;

/// <summary>
/// <c>gateway audit report</c> over a generated log of exactly 10,000 events whose every count is known by
/// construction, through the real command line; and its HTML page in headless Chromium.
/// </summary>
public sealed class AuditReportTests : IDisposable
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string DriverDirectory = "/usr/bin";
    private const string DriverName = "chromedriver";

    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-report-tests-").FullName;
    private readonly ITestOutputHelper _output;

    public AuditReportTests(ITestOutputHelper output) => _output = output;

    /// <summary>Where the test keeps its screenshot: TestResults/ beside the test assembly (docs/images/audit-report.png is one).</summary>
    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "TestResults", "audit-report.png");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Report_KnownLogOf10000Events_CountsEveryAgentUserShadowRouteAndUnusedGrantExactly()
    {
        var log = GenerateLog(Path.Combine(_folder, "decisions.jsonl"), DateTimeOffset.UtcNow);
        Assert.Equal(10_000, File.ReadLines(log).Count(l => l.EndsWith('}')));

        var result = await AuditCli.RunAsync("audit", "report", log, "--since", "30d", "--format", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        Assert.Equal(10_001, root.GetProperty("lines").GetInt64());
        Assert.Equal(1, root.GetProperty("unreadable").GetInt64());
        Assert.Equal(9_825, root.GetProperty("calls").GetInt64());
        Assert.Equal(75, root.GetProperty("admin_events").GetInt64());

        var agents = root.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal(["agent:planner", "agent:support", "agent:billing", "(no token)"], agents.Keys);
        AssertActivity(agents["agent:planner"], calls: 5076, allowed: 3826, refused: 1250, shadow: 0, stepUps: 200, risk: 3826, stepsOut: 50, riskOut: 0, asked: 0, granted: 0, denied: 0,
            ("insufficient_scope", 1000), ("insufficient_user_authentication", 200), ("step_limit_exceeded", 50));
        AssertActivity(agents["agent:support"], calls: 3200, allowed: 3000, refused: 200, shadow: 0, stepUps: 0, risk: 15_000, stepsOut: 0, riskOut: 200, asked: 0, granted: 0, denied: 0,
            ("approval_required", 100), ("risk_budget_exceeded", 100));
        AssertActivity(agents["agent:billing"], calls: 1540, allowed: 500, refused: 40, shadow: 1000, stepUps: 0, risk: 500, stepsOut: 0, riskOut: 0, asked: 40, granted: 25, denied: 10,
            ("approval_required", 40));
        AssertActivity(agents["(no token)"], calls: 9, allowed: 0, refused: 9, shadow: 0, stepUps: 0, risk: 0, stepsOut: 0, riskOut: 0, asked: 0, granted: 0, denied: 0,
            ("invalid_token", 9));

        var users = root.GetProperty("users").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal(["user:alice", "user:bob", "user:carol", "(no token)"], users.Keys);
        Assert.Equal(5076, users["user:alice"].GetProperty("calls").GetInt64());
        Assert.Equal(15_000, users["user:bob"].GetProperty("risk_spent").GetInt64());
        Assert.Equal(25, users["user:carol"].GetProperty("approvals").GetProperty("granted").GetInt64());

        var shadow = Assert.Single(root.GetProperty("shadow_refusals").EnumerateArray());
        Assert.Equal("payments-refund", shadow.GetProperty("route").GetString());
        Assert.Equal(1000, shadow.GetProperty("count").GetInt64());
        Assert.Equal(1000, shadow.GetProperty("by_error").GetProperty("insufficient_scope").GetInt64());

        Assert.Equal(6, root.GetProperty("grants_seen").GetInt32());
        var unused = root.GetProperty("unused_grants").EnumerateArray()
            .Select(g => $"{g.GetProperty("agent").GetString()} {g.GetProperty("action").GetString()} {g.GetProperty("resource").GetString()} tokens={g.GetProperty("tokens").GetInt32()} users={g.GetProperty("users").GetInt32()}")
            .ToList();
        Assert.Equal(
            [
                "agent:billing crm.customers:delete crm:customer/7 tokens=3 users=1",
                "agent:planner crm.customers:delete crm:customer/* tokens=10 users=1",
                "agent:support crm.customers:read crm:customer/* tokens=5 users=1",
            ],
            unused);
    }

    [Fact]
    public async Task Report_WholeLogWithoutWindow_CountsTheOldEventsToo()
    {
        var log = GenerateLog(Path.Combine(_folder, "decisions.jsonl"), DateTimeOffset.UtcNow);

        var result = await AuditCli.RunAsync("audit", "report", log, "--since", "all");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("9925 calls, 75 admin events", result.Output, StringComparison.Ordinal);
        Assert.Contains("agent:old", result.Output, StringComparison.Ordinal);
        Assert.Contains("Unused grants: 3 of 7", result.Output, StringComparison.Ordinal);
        Assert.Contains("agent:planner            crm.customers:delete on crm:customer/*  (in 10 token(s) of 1 user(s))", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportPage_InHeadlessChromium_ShowsTheNumbersAndChartsWithNothingFetched()
    {
        Assert.True(File.Exists(ChromiumPath) && File.Exists(Path.Combine(DriverDirectory, DriverName)),
            $"Chromium and its driver are needed at {ChromiumPath} and {DriverDirectory}/{DriverName}: run tests/test.sh, which installs them.");
        var log = GenerateLog(Path.Combine(_folder, "decisions.jsonl"), DateTimeOffset.UtcNow);
        var page = Path.Combine(_folder, "report.html");

        var result = await AuditCli.RunAsync("audit", "report", log, "--format", "html", "--output", page);

        Assert.True(result.ExitCode == 0, result.ToString());
        var html = await File.ReadAllTextAsync(page);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);

        var profile = Directory.CreateTempSubdirectory("gateway-chromium-");
        try
        {
            using var driver = StartChromium(profile.FullName);
            driver.Navigate().GoToUrl(new Uri(page).AbsoluteUri);
            string Text(string id) => driver.FindElement(By.Id(id)).Text;
            Assert.Equal("9825", Text("calls"));
            Assert.Equal("1000", Text("shadow-refused"));
            Assert.Equal("40", Text("approvals-asked"));
            Assert.Equal("3", Text("unused-count"));
            Assert.Contains("crm.customers:delete", Text("unused-grants"), StringComparison.Ordinal);
            Assert.Contains("payments-refund", Text("chart-shadow"), StringComparison.Ordinal);

            // The charts are drawn: bars with a real size, one row per agent in the calls chart.
            var bars = driver.FindElements(By.CssSelector("#chart-calls svg rect"));
            Assert.True(bars.Count >= 4, $"{bars.Count} bars");
            Assert.All(bars, bar => Assert.True(bar.Size.Width > 0 && bar.Size.Height > 0));
            var agentRows = driver.FindElements(By.CssSelector("#agents tbody tr"));
            Assert.Equal(4, agentRows.Count);

            Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
            ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(ScreenshotPath);
            _output.WriteLine($"Screenshot: {ScreenshotPath}");
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    private static void AssertActivity(JsonElement activity, long calls, long allowed, long refused, long shadow, long stepUps, long risk, long stepsOut, long riskOut, long asked, long granted, long denied, params (string Error, long Count)[] refusals)
    {
        var name = activity.GetProperty("name").GetString();
        Assert.Equal((name, calls, allowed, refused, shadow), (name, activity.GetProperty("calls").GetInt64(), activity.GetProperty("allowed").GetInt64(), activity.GetProperty("refused").GetInt64(), activity.GetProperty("shadow_refused").GetInt64()));
        Assert.Equal((name, stepUps, risk), (name, activity.GetProperty("step_ups").GetInt64(), activity.GetProperty("risk_spent").GetInt64()));
        var budget = activity.GetProperty("budget_exhausted");
        Assert.Equal((name, stepsOut, riskOut), (name, budget.GetProperty("steps").GetInt64(), budget.GetProperty("risk").GetInt64()));
        var approvals = activity.GetProperty("approvals");
        Assert.Equal((name, asked, granted, denied), (name, approvals.GetProperty("asked").GetInt64(), approvals.GetProperty("granted").GetInt64(), approvals.GetProperty("denied").GetInt64()));
        Assert.Equal(
            refusals.OrderBy(r => r.Error, StringComparer.Ordinal).ToList(),
            activity.GetProperty("refusals_by_error").EnumerateObject().Select(p => (p.Name, p.Value.GetInt64())).OrderBy(r => r.Name, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// 10,000 events plus one torn line, every count fixed by construction (the expected numbers above are
    /// this arithmetic, not the report's): in the last six days, and 100 events 40 days old.
    /// </summary>
    internal static string GenerateLog(string path, DateTimeOffset now)
    {
        var planner = new[] { new AuditGrant(["crm.customers:read"], ["crm:customer/*"]), new AuditGrant(["crm.customers:delete"], ["crm:customer/*"]) };
        var support = new[] { new AuditGrant(["crm.customers:update", "crm.customers:read"], ["crm:customer/*"]) };
        var billing = new[] { new AuditGrant(["payments.payments:read"], ["payments:payment/*"]), new AuditGrant(["crm.customers:delete"], ["crm:customer/7"]) };
        var old = new[] { new AuditGrant(["crm.customers:list"], ["crm:region/*"]) };
        var events = new List<AuditEvent>();
        var n = 0;
        AuditEvent Call(string decision, string? error, string? reason, string route, string action, string resource, int risk, string agent, string sub, string jti, AuditGrant[] grants, DateTimeOffset? at = null)
        {
            n++;
            Assert.True(AuditDecisions.TryParse(decision, out var kind));
            return new AuditEvent
            {
                EventId = $"{n:x32}",
                Time = at ?? now - TimeSpan.FromSeconds(n * 50),
                Decision = kind,
                Error = error,
                Reason = reason,
                Route = route,
                Action = action,
                Resource = resource,
                Risk = risk,
                Tier = "low",
                Status = decision == "deny" ? 403 : 200,
                TraceId = $"{n:x32}",
                Token = new AuditToken { Jti = jti, Issuer = "https://idp.example", Subject = sub, Agent = agent, Grants = grants },
                Request = new AuditRequest { Method = "GET", Path = "/x" },
            };
        }

        for (var i = 0; i < 3826; i++)
        {
            events.Add(Call("allow", null, null, "crm-get-customer", "crm.customers:read", $"crm:customer/{i % 100}", 1, "agent:planner", "user:alice", $"p-{i % 10}", planner));
        }

        for (var i = 0; i < 1000; i++)
        {
            events.Add(Call("deny", "insufficient_scope", null, "crm-list-customers", "crm.customers:list", "crm:region/emea", 2, "agent:planner", "user:alice", $"p-{i % 10}", planner));
        }

        for (var i = 0; i < 200; i++)
        {
            events.Add(Call("deny", "insufficient_user_authentication", "step_up", "crm-delete-customer", "crm.customers:delete", "crm:customer/1", 50, "agent:planner", "user:alice", $"p-{i % 10}", planner));
        }

        for (var i = 0; i < 50; i++)
        {
            events.Add(Call("deny", "step_limit_exceeded", "steps", "crm-get-customer", "crm.customers:read", "crm:customer/1", 1, "agent:planner", "user:alice", $"p-{i % 10}", planner));
        }

        for (var i = 0; i < 3000; i++)
        {
            events.Add(Call("allow", null, null, "crm-update-customer", "crm.customers:update", $"crm:customer/{i}", 5, "agent:support", "user:bob", $"s-{i % 5}", support));
        }

        for (var i = 0; i < 100; i++)
        {
            events.Add(Call("deny", "risk_budget_exceeded", "risk_budget", "crm-update-customer", "crm.customers:update", "crm:customer/1", 5, "agent:support", "user:bob", $"s-{i % 5}", support));
            events.Add(Call("deny", "approval_required", "risk_budget", "crm-update-customer", "crm.customers:update", "crm:customer/1", 5, "agent:support", "user:bob", $"s-{i % 5}", support));
        }

        for (var i = 0; i < 1000; i++)
        {
            events.Add(Call("shadow_deny", "insufficient_scope", null, "payments-refund", "payments.refunds:create", $"payments:payment/{i}", 50, "agent:billing", "user:carol", $"b-{i % 3}", billing));
        }

        for (var i = 0; i < 500; i++)
        {
            events.Add(Call("allow", null, null, "payments-get-payment", "payments.payments:read", $"payments:payment/{i}", 1, "agent:billing", "user:carol", $"b-{i % 3}", billing));
        }

        // 40 approval requests, each tied by trace id to the refused call that asked: 25 approved, 10 denied, 5 left open.
        for (var i = 0; i < 40; i++)
        {
            var asked = Call("deny", "approval_required", null, "crm-delete-customer", "crm.customers:delete", "crm:customer/7", 50, "agent:billing", "user:carol", $"b-{i % 3}", billing);
            events.Add(asked);
            var approvalId = $"{i:x32}";
            events.Add(Admin("approval.requested", approvalId, asked.TraceId!));
            if (i < 25)
            {
                events.Add(Admin("approval.approved", approvalId, asked.TraceId!));
            }
            else if (i < 35)
            {
                events.Add(Admin("approval.denied", approvalId, asked.TraceId!));
            }
        }

        for (var i = 0; i < 9; i++)
        {
            n++;
            events.Add(new AuditEvent { EventId = $"{n:x32}", Time = now - TimeSpan.FromSeconds(n * 50), Decision = AuditDecision.Deny, Error = "invalid_token", Reason = "expired", Route = "crm-get-customer", Status = 401 });
        }

        for (var i = 0; i < 100; i++)
        {
            events.Add(Call("allow", null, null, "crm-list-customers", "crm.customers:list", "crm:region/emea", 2, "agent:old", "user:dave", "o-1", old, now - TimeSpan.FromDays(40)));
        }

        using var writer = new StreamWriter(path);
        foreach (var e in events.OrderBy(e => e.Time))
        {
            writer.Write(System.Text.Encoding.UTF8.GetString(AuditEventSerializer.ToCanonicalJson(e)));
            writer.Write('\n');
        }

        writer.Write("{\"action\":\"crm.cust");
        return path;

        AuditEvent Admin(string action, string approvalId, string traceId)
        {
            n++;
            return new AuditEvent
            {
                EventId = $"{n:x32}",
                Time = now - TimeSpan.FromSeconds(n * 50),
                Decision = AuditDecision.Admin,
                Admin = new AuditAdmin { Action = action, Target = $"approval:{approvalId}" },
                TraceId = traceId,
                Status = 200,
                Request = new AuditRequest { Method = "POST", Path = $"/approvals/{approvalId}" },
            };
        }
    }

    private static ChromeDriver StartChromium(string profile)
    {
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1800", "--user-data-dir=" + profile);
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }
}
