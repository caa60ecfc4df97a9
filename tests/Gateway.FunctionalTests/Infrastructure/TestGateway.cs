using Gateway.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// The gateway on real Kestrel (loopback, port 0) in front of a real <see cref="UpstreamServer"/>,
/// with its policy written to a temporary folder so tests can edit it and watch it reload.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGateway(WebApplication app, string directory, string policyPath, Uri address)
    {
        _app = app;
        Directory = directory;
        PolicyPath = policyPath;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Directory { get; }
    public string PolicyPath { get; }
    public Uri Address { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<TestGateway> StartAsync(TestIssuer issuer, UpstreamServer upstream, string? policy = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "gateway-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "idp.jwks.json"), issuer.JwksJson);
        var policyPath = Path.Combine(directory, "gateway.yaml");
        await File.WriteAllTextAsync(policyPath, Render(policy ?? TestPolicies.Default, issuer, upstream));
        var app = GatewayApp.Build(new GatewayStartOptions
        {
            ConfigPath = policyPath,
            Urls = ["http://127.0.0.1:0"],
            AdminUrls = ["http://127.0.0.1:0"],
            Settings = settings ?? new Dictionary<string, string?>(),
            PolicyPollInterval = TimeSpan.FromMilliseconds(100),
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestGateway(app, directory, policyPath, new Uri(address));
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
