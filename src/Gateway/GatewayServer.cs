using Gateway.Audit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gateway.Host;

/// <summary>The proxy listener and the admin listener, started and stopped together.</summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private readonly AuditWriter? _audit;

    internal GatewayServer(WebApplication proxy, WebApplication admin, AuditWriter? audit)
    {
        Proxy = proxy;
        Admin = admin;
        _audit = audit;
    }

    public WebApplication Proxy { get; }
    public WebApplication Admin { get; }
    public IServiceProvider Services => Proxy.Services;

    public Uri ProxyAddress => Address(Proxy);
    public Uri AdminAddress => Address(Admin);

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_audit is not null)
        {
            await _audit.StartAsync(cancellationToken);
        }

        await Proxy.StartAsync(cancellationToken);
        await Admin.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await Admin.StopAsync(cancellationToken);
        await Proxy.StopAsync(cancellationToken);

        // Last: every request the listeners drained has queued its event by now.
        if (_audit is not null)
        {
            await _audit.StopAsync(cancellationToken);
        }
    }

    /// <summary>Runs until the proxy host is asked to stop (Ctrl+C, SIGTERM, or the token).</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        try
        {
            await Proxy.WaitForShutdownAsync(cancellationToken);
        }
        finally
        {
            await StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Admin.DisposeAsync();
        await Proxy.DisposeAsync();
        if (_audit is not null)
        {
            await _audit.DisposeAsync();
        }
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}
