using System.Diagnostics;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

public sealed class PolicyReloadTests : IAsyncLifetime
{
    private readonly TestIssuer _issuer = new();
    private UpstreamServer _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        _gateway = await TestGateway.StartAsync(_issuer, _upstream);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _issuer.Dispose();
    }

    private string Policy(string extra = "") => TestGateway.Render(TestPolicies.Default + extra, _issuer, _upstream);

    private Task<HttpResponseMessage> GetAsync(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", token);
        return _gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task ValidEdit_TakesEffectWithinTwoSeconds_WithNoDroppedRequest()
    {
        var token = _issuer.Mint(_issuer.Claims(action: "crm.invoices:read", resource: "crm:invoice/7"));
        var steadyClaims = _issuer.Claims(resource: "crm:customer/steady");
        steadyClaims["cap"] = new System.Text.Json.Nodes.JsonObject { ["max_steps"] = 1_000_000 };
        var customerToken = _issuer.Mint(steadyClaims);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/crm/invoices/7", token)).StatusCode);

        // Traffic keeps flowing on an unchanged route while the policy is swapped.
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var sent = 0;
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancelled())
            {
                var response = await GetAsync("/crm/customers/steady", customerToken);
                Interlocked.Increment(ref sent);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        await _gateway.ReplacePolicyAsync(Policy("""

              - id: crm-get-invoice
                match: { methods: [GET], path: /crm/invoices/{invoiceId} }
                upstream: crm
                action: crm.invoices:read
                resource: crm:invoice/{invoiceId}
                tier: low
            """));
        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(50);
            status = (await GetAsync("/crm/invoices/7", token)).StatusCode;
        }
        while (status != HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(5));

        var elapsed = clock.Elapsed;
        await Task.Delay(200);
        await stop.CancelAsync();
        await traffic;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"reload took {elapsed}");
        Assert.True(sent > 0);
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task InvalidEdit_IsRefused_AndThePreviousPolicyKeepsServing()
    {
        var token = _issuer.Mint(_issuer.Claims(resource: "crm:customer/keep"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/crm/customers/keep", token)).StatusCode);

        // A typo'd key and an unknown tier: the whole edit must be refused.
        await _gateway.ReplacePolicyAsync(Policy("""

              - id: crm-get-invoice
                match: { methods: [GET], path: /crm/invoices/{invoiceId} }
                upstream: crm
                actoin: crm.invoices:read
                resource: crm:invoice/{invoiceId}
                tier: extreme
            """).Replace("crm-get-customer", "crm-get-customer-renamed", StringComparison.Ordinal));
        await Task.Delay(1500);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/crm/customers/keep", token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/crm/invoices/7", token)).StatusCode);
        var probe = await GetAsync("/crm/customers/keep", token);
        var body = await probe.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        Assert.DoesNotContain("renamed", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TierChangeOnUnchangedRoute_TakesEffect()
    {
        var token = _issuer.Mint(_issuer.Claims(resource: "crm:customer/tier"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/crm/customers/tier", token)).StatusCode);

        // Same path and method, now high tier: a policy-intent token no longer suffices.
        await _gateway.ReplacePolicyAsync(Policy().Replace("""
                resource: crm:customer/{customerId}
                tier: low
            """, """
                resource: crm:customer/{customerId}
                tier: high
            """, StringComparison.Ordinal));

        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(50);
            status = (await GetAsync("/crm/customers/tier", token)).StatusCode;
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(5));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }
}

internal static class CancellationExtensions
{
    public static bool IsCancelled(this CancellationTokenSource source) => source.IsCancellationRequested;
}
