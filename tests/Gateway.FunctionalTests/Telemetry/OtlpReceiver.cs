using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Telemetry;

/// <summary>
/// An OTLP/HTTP collector stand-in on loopback: accepts <c>POST /v1/traces</c>, <c>/v1/metrics</c> and
/// <c>/v1/logs</c>, keeps each body as received, and answers 200 with an empty (valid) protobuf response.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<OtlpRequest> Received { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        OtlpReceiver? receiver = null;
        app.MapPost("/v1/{signal}", async (HttpContext context, string signal) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            receiver!.Received.Enqueue(new OtlpRequest(signal, context.Request.ContentType ?? "", body.ToArray()));
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength = 0;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new OtlpReceiver(app, new Uri(address));
        return receiver;
    }

    /// <summary>Waits (bounded) for a request of <paramref name="signal"/> whose body matches.</summary>
    public async Task<OtlpRequest> WaitForAsync(string signal, Func<byte[], bool> match, Action flush, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        ArgumentNullException.ThrowIfNull(flush);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (Received.FirstOrDefault(r => r.Signal == signal && match(r.Body)) is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No matching OTLP {signal} request within the timeout; received: {string.Join(", ", Received.Select(r => $"{r.Signal} ({r.Body.Length} bytes)"))}");
            }

            flush();
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed record OtlpRequest(string Signal, string ContentType, byte[] Body);
