using System.Text.Json;
using Gateway.McpConformanceServer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;

// The server the MCP conformance suite's server scenarios expect (its "everything server"),
// built with the official C# SDK, for tests/mcp/conformance.sh: run against it directly, then
// through a gateway MCP route, the suite must give the same results.
// Usage: Gateway.McpConformanceServer [--urls http://127.0.0.1:0]; prints "listening on URL".
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:0");
}

builder.Services.AddDistributedMemoryCache();
builder.Services
    .AddMcpServer(options =>
    {
        options.ServerInfo = new Implementation { Name = "gateway-mcp-conformance-server", Version = "1.0.0" };
        options.Capabilities = new ServerCapabilities
        {
            Logging = new LoggingCapability(),
            Completions = new CompletionsCapability(),
        };
    })
    .WithHttpTransport(options => options.SessionMode = HttpServerSessionMode.StatefulForInitializeClients)
    // SSE resumability: test_reconnection ends its stream early and the client comes back with Last-Event-ID.
    .WithDistributedCacheEventStreamStore()
    .WithTools<ConformanceTools>()
    .WithTools([ConformanceTools.JsonSchema202012Tool()])
    .WithResources<ConformanceResources>()
    .WithPrompts<ConformancePrompts>()
    .WithSubscribeToResourcesHandler((context, _) => ValueTask.FromResult(new EmptyResult()))
    .WithUnsubscribeFromResourcesHandler((context, _) => ValueTask.FromResult(new EmptyResult()))
    .WithCompleteHandler((_, _) => ValueTask.FromResult(new CompleteResult { Completion = new Completion { Values = [], Total = 0, HasMore = false } }))
    .WithSetLoggingLevelHandler(async (context, cancellationToken) =>
    {
        await context.Server.SendNotificationAsync(
            NotificationMethods.LoggingMessageNotification,
            new LoggingMessageNotificationParams
            {
                Level = LoggingLevel.Info,
                Logger = "conformance-server",
                Data = JsonSerializer.SerializeToElement($"Log level set to: {context.Params?.Level}", ConformanceJson.Default.String),
            },
            cancellationToken: cancellationToken);
        return new EmptyResult();
    });

var app = builder.Build();
app.UseMiddleware<LocalhostOnly>();
app.MapMcp("/mcp");
await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"listening on {address}/mcp");
await app.WaitForShutdownAsync();
