using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>A real upstream on Kestrel, loopback, port 0, recording every request it receives.</summary>
public sealed class UpstreamServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private UpstreamServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public static async Task<UpstreamServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        UpstreamServer? server = null;
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            server!.Received.Enqueue(new ReceivedRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.QueryString.Value ?? "",
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body.ToArray()));
            context.Response.ContentType = "application/json";
            context.Response.Headers["Gateway-Steps-Remaining"] = "999999";
            await context.Response.WriteAsync("{\"ok\":true}");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new UpstreamServer(app, new Uri(address));
        return server;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body);
