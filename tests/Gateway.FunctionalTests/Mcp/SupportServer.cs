using Gateway.Host.Demo;
using Microsoft.AspNetCore.Builder;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>The demo's support MCP server (official C# SDK) on a free loopback port.</summary>
public sealed class SupportServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SupportServer(WebApplication app, SupportDesk desk)
    {
        _app = app;
        Desk = desk;
        Address = new Uri(app.Urls.First());
        Endpoint = new Uri(Address, SupportMcpServer.Path);
    }

    internal SupportDesk Desk { get; }

    /// <summary>The server's root, what a gateway upstream names.</summary>
    public Uri Address { get; }

    /// <summary>The MCP endpoint itself.</summary>
    public Uri Endpoint { get; }

    internal static async Task<SupportServer> StartAsync(SupportDesk? desk = null)
    {
        desk ??= new SupportDesk { AfterExportStep = static (_, _, _) => Task.CompletedTask };
        var app = await SupportMcpServer.StartAsync("http://127.0.0.1:0", desk, CancellationToken.None);
        return new SupportServer(app, desk);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
