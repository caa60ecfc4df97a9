using Yarp.ReverseProxy.Configuration;

// The load harness's reference: YARP with default settings and routes equivalent to the
// gateway's, hosted exactly as the gateway hosts YARP (slim builder, same log filters, no Server
// header), so that the difference the harness measures is the gateway's own work.
//   dotnet bare-proxy.dll --urls http://127.0.0.1:5300 --upstream http://127.0.0.1:5200
var builder = WebApplication.CreateSlimBuilder(args);
var upstream = builder.Configuration["upstream"]
    ?? throw new InvalidOperationException("Pass the upstream's base URL: --upstream http://127.0.0.1:PORT");
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Yarp", LogLevel.Warning);
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
});
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

builder.Services.AddReverseProxy().LoadFromMemory(
    [
        new RouteConfig
        {
            RouteId = "bench-items",
            ClusterId = "bench",
            Match = new RouteMatch { Path = "/bench/items/{id}", Methods = ["GET", "POST"] },
        },
        // The MCP scenario's endpoint: to bare YARP an MCP tools/call is one more POST.
        new RouteConfig
        {
            RouteId = "bench-mcp",
            ClusterId = "bench",
            Match = new RouteMatch { Path = "/bench/mcp", Methods = ["POST"] },
        },
    ],
    [
        new ClusterConfig
        {
            ClusterId = "bench",
            Destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal)
            {
                ["bench-0"] = new() { Address = upstream },
            },
        },
    ]);

var app = builder.Build();
app.MapReverseProxy();
app.Run();
