using System.Diagnostics;
using System.Globalization;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Host;

namespace Gateway.FunctionalTests.Deployment;

/// <summary>
/// The policy as the Helm chart delivers it: a ConfigMap volume, laid out as the kubelet lays it
/// out (files are symlinks through <c>..data</c>, itself a symlink to a timestamped folder) and
/// updated as the kubelet updates it (a new timestamped folder, then <c>..data</c> swapped by one
/// rename). The gateway must see each swap, apply a valid policy and refuse an invalid one.
/// </summary>
public sealed class ConfigMapVolumeTests : IAsyncLifetime
{
    private readonly TestIssuer _issuer = new();
    private readonly string _volume = Directory.CreateTempSubdirectory("gateway-configmap-").FullName;
    private UpstreamServer _upstream = null!;
    private int _generation;

    public async Task InitializeAsync() => _upstream = await UpstreamServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _issuer.Dispose();
        Directory.Delete(_volume, recursive: true);
    }

    [Theory]
    [InlineData("")] // the chart's default: --config /etc/gateway (the folder)
    [InlineData("gateway.yaml")] // the image's default: --config /etc/gateway/gateway.yaml (a symlink)
    public async Task KubeletSwap_ValidPolicy_IsAppliedAndAnInvalidOneRefused(string entry)
    {
        Publish(TestPolicies.Default);
        Assert.True(File.ResolveLinkTarget(Path.Combine(_volume, "gateway.yaml"), returnFinalTarget: false) is not null);

        var app = GatewayApp.Build(new GatewayStartOptions
        {
            ConfigPath = entry.Length == 0 ? _volume : Path.Combine(_volume, entry),
            Urls = ["http://127.0.0.1:0"],
            AdminUrls = ["http://127.0.0.1:0"],
            PolicyPollInterval = TimeSpan.FromMilliseconds(100),
        });
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = app.ProxyAddress };
            var token = _issuer.Mint(_issuer.Claims(action: "crm.invoices:read", resource: "crm:invoice/7"));
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, "/crm/invoices/7", token));

            // 1. A valid edit: a new route appears.
            Publish(TestPolicies.Default + InvoiceRoute("tier: low"));
            Assert.Equal(HttpStatusCode.OK, await WaitForAsync(client, "/crm/invoices/7", token, HttpStatusCode.OK));

            // 2. An invalid edit (unknown tier): refused, the route keeps serving.
            Publish(TestPolicies.Default + InvoiceRoute("tier: extreme"));
            await Task.Delay(1_000);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/crm/invoices/7", token));

            // 3. The next valid edit is applied again: the route goes away.
            Publish(TestPolicies.Default);
            Assert.Equal(HttpStatusCode.NotFound, await WaitForAsync(client, "/crm/invoices/7", token, HttpStatusCode.NotFound));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Writes the ConfigMap's files into a new timestamped folder, points a temporary symlink at
    /// it and renames that over <c>..data</c> (atomic), then removes the previous folder: the
    /// kubelet's update sequence. The visible files are symlinks through <c>..data</c>.
    /// </summary>
    private void Publish(string policy)
    {
        var previous = Directory.Exists(Path.Combine(_volume, "..data"))
            ? File.ResolveLinkTarget(Path.Combine(_volume, "..data"), returnFinalTarget: false)?.FullName
            : null;

        var generation = Interlocked.Increment(ref _generation);
        var folderName = "..2026_01_01_00_00_00." + generation.ToString("D9", CultureInfo.InvariantCulture);
        var folder = Directory.CreateDirectory(Path.Combine(_volume, folderName)).FullName;
        File.WriteAllText(Path.Combine(folder, "gateway.yaml"), TestGateway.Render(policy, _issuer, _upstream));
        File.WriteAllText(Path.Combine(folder, "idp.jwks.json"), _issuer.JwksJson);

        var temporary = Path.Combine(_volume, "..data_tmp");
        Directory.CreateSymbolicLink(temporary, folderName);
        RenameOver(temporary, Path.Combine(_volume, "..data"));

        foreach (var file in new[] { "gateway.yaml", "idp.jwks.json" })
        {
            var link = Path.Combine(_volume, file);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, Path.Combine("..data", file));
            }
        }

        if (previous is not null)
        {
            Directory.Delete(previous, recursive: true);
        }
    }

    /// <summary>
    /// rename(2) of a symlink over a symlink, as the kubelet does. File.Move would follow the
    /// link to the folder and refuse, so GNU mv -T (no target-directory guessing) does it.
    /// </summary>
    private static void RenameOver(string source, string destination)
    {
        var start = new ProcessStartInfo("mv") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in (string[])["-T", source, destination])
        {
            start.ArgumentList.Add(argument);
        }

        using var mv = Process.Start(start) ?? throw new InvalidOperationException("mv did not start");
        var error = mv.StandardError.ReadToEnd();
        mv.WaitForExit();
        Assert.True(mv.ExitCode == 0, $"mv -T {source} {destination}: {error}");
    }

    private static string InvoiceRoute(string tier) => $$"""

          - id: crm-get-invoice
            match: { methods: [GET], path: "/crm/invoices/{invoiceId}" }
            upstream: crm
            action: crm.invoices:read
            resource: crm:invoice/{invoiceId}
            {{tier}}
        """;

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> WaitForAsync(HttpClient client, string path, string token, HttpStatusCode expected)
    {
        // The contract gives a valid edit 2 seconds; in a cluster the kubelet's refresh comes first.
        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(50);
            status = await StatusAsync(client, path, token);
        }
        while (status != expected && clock.Elapsed < TimeSpan.FromSeconds(2));

        return status;
    }
}
