using System.Net;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit.Abstractions;
using static Gateway.FunctionalTests.Approvals.ApprovalHarness;

namespace Gateway.FunctionalTests.Approvals;

/// <summary>
/// The approval page as a person uses it, in Debian's headless Chromium driven by Selenium: open the
/// link from the refusal, enter the admin key, read what the call will do, click Approve; the agent's
/// retry then goes through. The browser and its driver are the system's (<c>/usr/bin</c>, installed by
/// tests/test.sh), named explicitly so Selenium never tries to download one.
/// </summary>
public sealed class ApprovalPageBrowserTests : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string DriverDirectory = "/usr/bin";
    private const string DriverName = "chromedriver";

    private readonly TestIssuer _issuer = new();
    private readonly ITestOutputHelper _output;
    private UpstreamServer _upstream = null!;
    private TestGateway _gateway = null!;

    public ApprovalPageBrowserTests(ITestOutputHelper output)
    {
        _output = output;
    }

    /// <summary>Where the test keeps its screenshot: TestResults/ beside the test assembly.</summary>
    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "TestResults", "approval-page.png");

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        _gateway = await TestGateway.StartAsync(_issuer, _upstream, RenderPolicy());
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _issuer.Dispose();
    }

    [Fact]
    public async Task ApprovalPage_InHeadlessChromium_ShowsTheCallAndItsBlastRadius_AndApproveLetsTheRetryThrough()
    {
        // Never skipped: a missing browser is a broken test machine, and tests/test.sh installs it.
        Assert.True(File.Exists(ChromiumPath) && File.Exists(Path.Combine(DriverDirectory, DriverName)),
            $"Chromium and its driver are needed at {ChromiumPath} and {DriverDirectory}/{DriverName}: run tests/test.sh, "
            + "which installs them, or apt-get install -y chromium chromium-driver.");

        var claims = _issuer.Claims(sub: "user:alice@example.com", agent: "agent:billing-assistant");
        claims["act"] = new JsonObject { ["sub"] = "agent:billing-assistant", ["act"] = new JsonObject { ["sub"] = "agent:planner" } };
        claims["authorization_details"] = new JsonArray(
            new JsonObject
            {
                ["type"] = "agent_capability",
                ["actions"] = new JsonArray("payments.refunds:create"),
                ["resources"] = new JsonArray("payments:payment/*"),
            },
            new JsonObject
            {
                ["type"] = "agent_capability",
                ["actions"] = new JsonArray("crm.customers:read"),
                ["resources"] = new JsonArray("crm:customer/*"),
            });
        var token = _issuer.Mint(claims);
        const string Body = """{"amount":120.00,"currency":"EUR","card_number":"4111111111111111","reason":"Duplicate charge on invoice 2026-0412"}""";
        var refused = await ApprovalRequiredAsync(await CallAsync(_gateway, HttpMethod.Post, "/payments/pay_8731/refunds", token, Body), "approval_pending");
        var url = refused.GetProperty("approval_url").GetString()!;

        var profile = Directory.CreateTempSubdirectory("gateway-chromium-");
        try
        {
            using (var driver = StartChromium(profile.FullName))
            {
                var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(15));
                driver.Navigate().GoToUrl(url);
                driver.FindElement(By.Id("key")).SendKeys(TestGateway.AdminKey + Keys.Enter);
                wait.Until(d => d.FindElement(By.Id("request")).Displayed);

                string Text(string id) => driver.FindElement(By.Id(id)).Text;
                Assert.Equal("Refund payment pay_8731", Text("headline"));
                Assert.Equal("payments.refunds:create", Text("action"));
                Assert.Equal("payments:payment/pay_8731", Text("resource"));
                Assert.True(driver.FindElement(By.Id("irreversible")).Displayed);
                Assert.StartsWith("No", Text("reversible"), StringComparison.Ordinal);
                Assert.StartsWith("50 points", Text("risk"), StringComparison.Ordinal);
                Assert.Contains("crm.customers:read on crm:customer/*", Text("grants"), StringComparison.Ordinal);
                Assert.Equal("user:alice@example.com", Text("who"));
                Assert.Contains("agent:planner", Text("chain"), StringComparison.Ordinal);
                Assert.Contains("[redacted]", Text("preview"), StringComparison.Ordinal);
                Assert.DoesNotContain("4111", driver.PageSource, StringComparison.Ordinal);
                Assert.Equal(Sha256Hex(Body), Text("digest"));
                Assert.Matches("expires in 1[45]:[0-9]{2}", Text("countdown"));

                Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
                ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(ScreenshotPath);
                _output.WriteLine($"Screenshot: {ScreenshotPath}");

                driver.FindElement(By.Id("note")).SendKeys("Matches ticket 2026-0412.");
                driver.FindElement(By.Id("approve")).Click();
                wait.Until(d => d.FindElement(By.Id("status")).Text == "approved");
                Assert.Contains("Approved", Text("result"), StringComparison.Ordinal);
            }

            var retry = await CallAsync(_gateway, HttpMethod.Post, "/payments/pay_8731/refunds", token, Body, refused.GetProperty("approval_id").GetString());
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    private static ChromeDriver StartChromium(string profile)
    {
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1180",
            "--user-data-dir=" + profile);

        // The driver owns the service and disposes it (and the browser) with itself.
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }
}
