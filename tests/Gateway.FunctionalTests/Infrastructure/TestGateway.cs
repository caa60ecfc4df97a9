using Gateway.Host;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// The gateway on real Kestrel (loopback, port 0) in front of a real <see cref="UpstreamServer"/>,
/// with its policy written to a temporary folder so tests can edit it and watch it reload.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly GatewayServer _app;

    private TestGateway(GatewayServer app, string directory, string policyPath)
    {
        _app = app;
        Directory = directory;
        PolicyPath = policyPath;
        Address = app.ProxyAddress;
        AdminAddress = app.AdminAddress;
        Client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        Admin = new HttpClient { BaseAddress = AdminAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public const string AdminKey = "test-admin-key-0123456789";

    public Uri AdminAddress { get; }

    /// <summary>An admin client without credentials; tests add the key where they mean to.</summary>
    public HttpClient Admin { get; }

    public string Directory { get; }
    public string PolicyPath { get; }
    public Uri Address { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;

    // configure: a last say over the proxy's builder (GatewayStartOptions.Configure), for exporters and log capture.
    public static async Task<TestGateway> StartAsync(TestIssuer issuer, UpstreamServer upstream, string? policy = null, IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? time = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "gateway-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "idp.jwks.json"), issuer.JwksJson);
        var policyPath = Path.Combine(directory, "gateway.yaml");
        await File.WriteAllTextAsync(policyPath, Render(policy ?? TestPolicies.Default, issuer, upstream));
        var merged = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["GATEWAY_ADMIN_KEY"] = AdminKey };
        var app = GatewayApp.Build(new GatewayStartOptions
        {
            ConfigPath = policyPath,
            Urls = ["http://127.0.0.1:0"],
            AdminUrls = ["http://127.0.0.1:0"],
            Settings = merged,
            PolicyPollInterval = TimeSpan.FromMilliseconds(100),
            Time = time ?? TimeProvider.System,
            Configure = configure,
        });
        await app.StartAsync();
        return new TestGateway(app, directory, policyPath);
    }

    /// <summary>Sends an admin request with the test admin key.</summary>
    public Task<HttpResponseMessage> AdminSendAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        return Admin.SendAsync(request);
    }

    public static string Render(string policy, TestIssuer issuer, UpstreamServer upstream) => policy
        .Replace("{{UPSTREAM}}", upstream.Address.ToString().TrimEnd('/'), StringComparison.Ordinal)
        .Replace("{{ISSUER}}", issuer.Issuer, StringComparison.Ordinal)
        .Replace("{{AUDIENCE}}", TestIssuer.Audience, StringComparison.Ordinal);

    /// <summary>Replaces the policy file the way an editor would: write a temp file, then rename over.</summary>
    public async Task ReplacePolicyAsync(string content)
    {
        var temp = PolicyPath + ".tmp";
        await File.WriteAllTextAsync(temp, content);
        File.Move(temp, PolicyPath, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
