using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Host.Demo;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// The support MCP server on a free loopback port behind a real gateway whose policy maps each of
/// its tools, its knowledge-base resource and its prompt to the capability model.
/// </summary>
public sealed class McpGateway : IAsyncDisposable
{
    /// <summary>The MCP route's path, the support server's own path forwarded unchanged.</summary>
    public const string Path = SupportMcpServer.Path;

    public const string Policy = """
        gateway:
          audience: {{AUDIENCE}}
          max_token_lifetime: 1h
          clock_skew: 30s
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        tiers:
          low:      { risk: 1 }
          medium:   { risk: 5 }
          reviewed: { risk: 10, approval: required }
        budgets:
          steps: { default: 50 }
          risk:  { limit: 1000000, window: 24h, on_exceed: deny }
        approvals:
          ttl: 15m
          approvers: [admin]
        upstreams:
          support: { destinations: [ {{MCP_UPSTREAM}} ] }
        routes:
          - id: support-mcp
            match: { path: /mcp/support }
            upstream: support
            mcp:
              tools:
                create_ticket: { action: support.tickets:create, resource: "support:queue/{args.queue}", tier: medium }
                get_ticket:    { action: support.tickets:read,   resource: "support:ticket/{args.id}",   tier: low }
                close_ticket:  { action: support.tickets:close,  resource: "support:ticket/{args.id}",   tier: reviewed }
                export_queue:  { action: support.tickets:export, resource: "support:queue/{args.queue}", tier: low }
              resources:
                - { uri: "support://kb/{slug}", action: support.kb:read, resource: "support:kb/{slug}", tier: low }
              prompts:
                triage: { action: support.prompts:get, resource: "support:prompt/triage", tier: low }
        """;

    /// <summary>
    /// The same server behind a plain route, as a gateway without MCP routes must serve it: one
    /// action for the whole server, every POST charged. What it still proves is the transport:
    /// SSE streams, sessions, DPoP and revocation through the real proxy.
    /// </summary>
    public const string PlainRoutePolicy = """
        gateway:
          audience: {{AUDIENCE}}
          max_token_lifetime: 1h
          clock_skew: 30s
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        tiers:
          low: { risk: 0 }
        budgets:
          steps: { default: 1000 }
          risk:  { limit: 1000000, window: 24h, on_exceed: deny }
        upstreams:
          support: { destinations: [ {{MCP_UPSTREAM}} ] }
        routes:
          - id: support-mcp-plain
            match: { methods: [GET, POST, DELETE], path: /mcp/support }
            upstream: support
            action: support.mcp:use
            resource: support:server/desk
            tier: low
        """;

    /// <summary>The one grant <see cref="PlainRoutePolicy"/> needs.</summary>
    public static readonly (string, string)[] WholeServer = [("support.mcp:use", "support:server/desk")];

    private McpGateway(TestIssuer issuer, SupportServer server, UpstreamServer unused, TestGateway gateway)
    {
        Issuer = issuer;
        Server = server;
        Unused = unused;
        Gateway = gateway;
    }

    public TestIssuer Issuer { get; }
    public SupportServer Server { get; }
    public TestGateway Gateway { get; }

    /// <summary>The MCP endpoint as an agent calls it: the gateway's address and the route's path.</summary>
    public Uri Endpoint => new(Gateway.Address, Path);

    // TestGateway renders {{UPSTREAM}} from an UpstreamServer; the MCP policy names none, but the type wants one.
    private UpstreamServer Unused { get; }

    internal static async Task<McpGateway> StartAsync(SupportDesk? desk = null, string policy = Policy)
    {
        var issuer = new TestIssuer();
        var server = await SupportServer.StartAsync(desk);
        var unused = await UpstreamServer.StartAsync();
        var rendered = policy.Replace("{{MCP_UPSTREAM}}", server.Address.ToString().TrimEnd('/'), StringComparison.Ordinal);
        var gateway = await TestGateway.StartAsync(issuer, unused, rendered);
        return new McpGateway(issuer, server, unused, gateway);
    }

    /// <summary>A token of <paramref name="sub"/>'s agent with one authorization_details entry per (action, resource) grant.</summary>
    public string Token(IEnumerable<(string Action, string Resource)> grants, string sub = "user:alice", string agent = "agent:planner", Action<JsonObject>? edit = null)
    {
        var claims = Issuer.Claims(sub: sub, agent: agent);
        var details = new JsonArray();
        foreach (var (action, resource) in grants)
        {
            details.Add(new JsonObject { ["type"] = "agent_capability", ["actions"] = new JsonArray(action), ["resources"] = new JsonArray(resource) });
        }

        claims["authorization_details"] = details;
        edit?.Invoke(claims);
        return Issuer.Mint(claims);
    }

    /// <summary>Reads of every ticket and creation in the billing queue: the usual test agent's grant.</summary>
    public static readonly (string, string)[] SupportAgent =
    [
        ("support.tickets:read", "support:ticket/*"),
        ("support.tickets:create", "support:queue/billing"),
    ];

    public Task<McpTestClient> ConnectAsync(string version, string token, bool standaloneGetStream = false) =>
        McpTestClient.ConnectAsync(Endpoint, version, McpTestClient.Bearer(token), standaloneGetStream);

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Unused.DisposeAsync();
        await Server.DisposeAsync();
        Issuer.Dispose();
    }
}
