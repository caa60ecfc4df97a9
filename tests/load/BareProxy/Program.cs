using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using Yarp.ReverseProxy.Configuration;

// The load harness's references: YARP with default settings and routes equivalent to the
// gateway's, hosted exactly as the gateway hosts YARP (slim builder, same log filters, no Server
// header), so that the difference the harness measures is the gateway's own work.
//   dotnet bare-proxy.dll --urls http://127.0.0.1:5300 --upstream http://127.0.0.1:5200
// With --jwks FILE --issuer ISS --audience AUD it is the second reference, what a .NET team would
// build instead of adopting the gateway: the same YARP behind ASP.NET Core's JwtBearer validating the
// same ES256 token, and an authorization policy per route on the action the token grants.
var builder = WebApplication.CreateSlimBuilder(args);
var upstream = builder.Configuration["upstream"]
    ?? throw new InvalidOperationException("Pass the upstream's base URL: --upstream http://127.0.0.1:PORT");
var jwksFile = builder.Configuration["jwks"];
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Yarp", LogLevel.Warning);
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
});
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

string? readPolicy = null, updatePolicy = null;
if (jwksFile is not null)
{
    var keys = new JsonWebKeySet(File.ReadAllText(jwksFile)).GetSigningKeys();
    builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
        .AddJwtBearer(options =>
        {
            // Keys from a file like the gateway's jwks_file: no metadata endpoint to call.
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = builder.Configuration["issuer"] ?? throw new InvalidOperationException("--issuer is required with --jwks"),
                ValidAudience = builder.Configuration["audience"] ?? throw new InvalidOperationException("--audience is required with --jwks"),
                IssuerSigningKeys = keys,
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                ValidTypes = ["at+jwt"],
                ClockSkew = TimeSpan.FromSeconds(30),
            };
        });
    readPolicy = "bench.items:read";
    updatePolicy = "bench.items:update";
    builder.Services.AddAuthorizationBuilder()
        .AddPolicy(readPolicy, policy => policy.RequireAuthenticatedUser().RequireAssertion(context => Grants(context.User, readPolicy)))
        .AddPolicy(updatePolicy, policy => policy.RequireAuthenticatedUser().RequireAssertion(context => Grants(context.User, updatePolicy)));
}

builder.Services.AddReverseProxy().LoadFromMemory(
    [
        new RouteConfig
        {
            RouteId = "bench-items-read",
            ClusterId = "bench",
            AuthorizationPolicy = readPolicy,
            Match = new RouteMatch { Path = "/bench/items/{id}", Methods = ["GET"] },
        },
        new RouteConfig
        {
            RouteId = "bench-items-update",
            ClusterId = "bench",
            AuthorizationPolicy = updatePolicy,
            Match = new RouteMatch { Path = "/bench/items/{id}", Methods = ["POST"] },
        },
        // The MCP scenario's endpoint: to bare YARP an MCP tools/call is one more POST.
        new RouteConfig
        {
            RouteId = "bench-mcp",
            ClusterId = "bench",
            AuthorizationPolicy = readPolicy,
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
if (jwksFile is not null)
{
    app.UseAuthentication();
    app.UseAuthorization();
}

app.MapReverseProxy();
app.Run();

// The policy a team would write for a token whose grants are RFC 9396 authorization_details: some
// agent_capability entry lists the route's action. JwtBearer hands each entry over as one claim
// holding the entry's JSON.
static bool Grants(ClaimsPrincipal user, string action)
{
    foreach (var claim in user.FindAll("authorization_details"))
    {
        using var entry = JsonDocument.Parse(claim.Value);
        if (entry.RootElement.ValueKind == JsonValueKind.Object
            && entry.RootElement.TryGetProperty("type", out var type) && type.ValueEquals("agent_capability")
            && entry.RootElement.TryGetProperty("actions", out var actions) && actions.ValueKind == JsonValueKind.Array)
        {
            foreach (var granted in actions.EnumerateArray())
            {
                if (granted.ValueEquals(action))
                {
                    return true;
                }
            }
        }
    }

    return false;
}
