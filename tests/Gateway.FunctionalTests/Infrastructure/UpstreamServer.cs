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

    private long _bodyBytesReceived;

    public Uri Address { get; }

    /// <summary>Body bytes read so far over all requests, counted as they arrive (not when a request is complete).</summary>
    public long BodyBytesReceived => Interlocked.Read(ref _bodyBytesReceived);

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>
    /// Answers in place of the fixed JSON body when set and it returns true (after the request was recorded): large,
    /// streamed or broken responses for the audit outcome tests.
    /// </summary>
    public Func<HttpContext, Task<bool>>? Respond { get; set; }

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
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk)) > 0)
            {
                body.Write(chunk, 0, read);
                Interlocked.Add(ref server!._bodyBytesReceived, read);
            }

            server!.Received.Enqueue(new ReceivedRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.QueryString.Value ?? "",
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body.ToArray()));
            if (server.Respond is { } respond && await respond(context))
            {
                return;
            }

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
