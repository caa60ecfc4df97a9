using Gateway.Audit;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gateway.Host;

/// <summary>The proxy listener and the admin listener, started and stopped together.</summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private readonly AuditWriter? _audit;
    private readonly IReadOnlyList<string> _proxyUrls;
    private readonly IReadOnlyList<string> _adminUrls;

    internal GatewayServer(WebApplication proxy, WebApplication admin, AuditWriter? audit, IReadOnlyList<string> proxyUrls, IReadOnlyList<string> adminUrls)
    {
        Proxy = proxy;
        Admin = admin;
        _audit = audit;
        _proxyUrls = proxyUrls;
        _adminUrls = adminUrls;
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

        await StartListenerAsync(Proxy, isAdmin: false, _proxyUrls, cancellationToken);
        await StartListenerAsync(Admin, isAdmin: true, _adminUrls, cancellationToken);
    }

    private static async Task StartListenerAsync(WebApplication listener, bool isAdmin, IReadOnlyList<string> urls, CancellationToken cancellationToken)
    {
        // Looked at first, because the host logs a failed start with its whole stack trace before the
        // exception reaches anyone who could say it in one sentence.
        if (urls.FirstOrDefault(ListenerPorts.IsTaken) is { } taken)
        {
            throw new ListenerInUseException(isAdmin, taken, null);
        }

        try
        {
            await listener.StartAsync(cancellationToken);
        }
        catch (IOException ex) when (ex.InnerException is AddressInUseException)
        {
            // Taken between the look and the bind. Which listener failed decides which option the person must change.
            throw new ListenerInUseException(isAdmin, urls.Count > 0 ? urls[0] : "", ex);
        }
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

/// <summary>A listener's address is taken by another process: the one start-up failure a person fixes by choosing a port.</summary>
public sealed class ListenerInUseException(bool isAdmin, string url, Exception? inner)
    : IOException($"Address {url} is already in use.", inner)
{
    /// <summary>True for the admin listener (<c>--admin-urls</c>), false for the proxy (<c>--urls</c>).</summary>
    public bool IsAdmin { get; } = isAdmin;

    /// <summary>The URL that could not be listened on.</summary>
    public string Url { get; } = url;
}

/// <summary>Whether a listener URL's port is held by another process, found by binding it for a moment.</summary>
internal static class ListenerPorts
{
    public static bool IsTaken(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || uri.Port <= 0)
        {
            return false;
        }

        var address = uri.IsLoopback && !System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out _) ? System.Net.IPAddress.Loopback
            : System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var parsed) ? parsed
            : null;
        if (address is null)
        {
            return false;
        }

        try
        {
            using var socket = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.Bind(new System.Net.IPEndPoint(address, uri.Port));
            socket.Listen();
            return false;
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Anything else (no such interface, no permission) is Kestrel's to report.
            return false;
        }
    }
}
