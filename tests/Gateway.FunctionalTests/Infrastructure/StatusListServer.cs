using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Gateway.StatusLists;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A status issuer's list endpoint on real Kestrel (loopback, port 0): each path serves what the test last published
/// there, as <c>application/statuslist+jwt</c> unless the test says otherwise, and counts the requests it answered.
/// </summary>
public sealed class StatusListServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Published> _lists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);

    private StatusListServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The server's root, ending in '/'.</summary>
    public Uri Address { get; }

    public static async Task<StatusListServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        StatusListServer? server = null;
        app.Run(async context =>
        {
            var path = context.Request.Path.Value ?? "";
            server!._requests.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (!server._lists.TryGetValue(path, out var published))
            {
                context.Response.StatusCode = 404;
                return;
            }

            context.Response.StatusCode = published.Status;
            context.Response.ContentType = published.ContentType;
            await context.Response.WriteAsync(published.Body);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new StatusListServer(app, new Uri(address.TrimEnd('/') + "/"));
        return server;
    }

    /// <summary>The absolute URL of <paramref name="path"/> (no leading slash), as a token's <c>uri</c> names it.</summary>
    public string Url(string path) => new Uri(Address, path).ToString();

    /// <summary>Serves <paramref name="body"/> at <paramref name="path"/> from the next request on.</summary>
    public void Serve(string path, string body, string contentType = StatusListTokenVerifier.MediaType, int status = 200) =>
        _lists[new Uri(Address, path).AbsolutePath] = new Published(body, contentType, status);

    /// <summary>Publishes a one-bit list of <paramref name="size"/> entries with the <paramref name="revoked"/> ones set, signed by <paramref name="issuer"/>.</summary>
    public void Publish(TestIssuer issuer, string path, int size, IEnumerable<int> revoked, int? ttl = 60, string typ = "statuslist+jwt")
    {
        var bytes = new byte[(size + 7) / 8];
        foreach (var index in revoked)
        {
            bytes[index / 8] |= (byte)(1 << (index % 8));
        }

        Serve(path, Sign(issuer, Url(path), 1, StatusList.Encode(bytes), ttl, typ));
    }

    /// <summary>A status list token for <paramref name="uri"/> with the given <c>bits</c> and <c>lst</c>.</summary>
    public static string Sign(TestIssuer issuer, string uri, int bits, string lst, int? ttl = 60, string typ = "statuslist+jwt", Action<JsonObject>? edit = null)
    {
        var claims = new JsonObject
        {
            ["sub"] = uri,
            ["iss"] = issuer.Issuer,
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["exp"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(),
            ["status_list"] = new JsonObject { ["bits"] = bits, ["lst"] = lst },
        };
        if (ttl is { } seconds)
        {
            claims["ttl"] = seconds;
        }

        edit?.Invoke(claims);
        return issuer.Sign(issuer.Header(typ: typ), claims);
    }

    /// <summary>How many requests <paramref name="path"/> has had.</summary>
    public int Requests(string path) => _requests.GetValueOrDefault(new Uri(Address, path).AbsolutePath);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private sealed record Published(string Body, string ContentType, int Status);
}
