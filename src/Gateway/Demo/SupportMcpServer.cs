using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;

namespace Gateway.Host.Demo;

/// <summary>
/// The demo's MCP server, a small support desk built with the official C# MCP SDK: tools to
/// create, read and close tickets, a tool that streams progress while it exports a queue, a
/// knowledge-base resource template and a triage prompt. <c>gateway demo</c> hosts it beside
/// the echo upstreams, behind the MCP route of <c>config/gateway.yaml</c>; the functional
/// tests host it on a free loopback port behind a test gateway.
/// </summary>
/// <remarks>
/// It serves both protocol generations on one endpoint: sessions (<c>Mcp-Session-Id</c>, the
/// GET stream) for clients that open with <c>initialize</c> (2025-11-25 and earlier), and
/// stateless requests for 2026-07-28 clients, which name themselves per request.
/// </remarks>
internal static class SupportMcpServer
{
    /// <summary>Where the MCP endpoint is mapped; the gateway route forwards this path unchanged.</summary>
    public const string Path = "/mcp/support";

    /// <summary>The demo policy's upstream that <c>gateway demo</c> serves with this server instead of an echo API.</summary>
    public const string UpstreamName = "support";

    public static async Task<WebApplication> StartAsync(string url, SupportDesk desk, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.Services.AddSingleton(desk);
        builder.Services
            .AddMcpServer(options => options.ServerInfo = new Implementation { Name = "support-desk", Version = "1.0.0" })
            .WithHttpTransport(options => options.SessionMode = HttpServerSessionMode.StatefulForInitializeClients)
            .WithTools<SupportTools>()
            .WithResources<SupportKnowledgeBase>()
            .WithPrompts<SupportPrompts>();
        var app = builder.Build();
        app.Use((context, next) =>
        {
            desk.Record(context.Request);
            return next(context);
        });
        app.MapMcp(Path);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }
}
