using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>Routes with an <c>mcp:</c> section: tools, resource templates and prompts mapped to the capability model.</summary>
public sealed class PolicyLoaderMcpTests : IDisposable
{
    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The header's nine lines, then the routes from line 10.</summary>
    private PolicyLoadResult Load(string routes) => _folder.LoadText(PolicyTestFolder.Header + routes);

    [Fact]
    public void LoadFromText_McpRoute_MapsEachTarget_AndImpliesTheTransportsMethods()
    {
        var policy = PolicyAssert.Loaded(Load("""
            routes:
              - id: support-mcp
                match: { path: /mcp/support }
                upstream: crm
                mcp:
                  tools:
                    create_ticket: { action: support.tickets:create, resource: "support:queue/{args.queue}", tier: low, approval: required }
                    nested:        { action: support.tickets:read, resource: "support:ticket/{args.ticket.id}", tier: low }
                  resources:
                    - { uri: "support://kb/{slug}", action: support.kb:read, resource: "support:kb/{slug}", tier: low }
                  prompts:
                    triage: { action: support.prompts:get, resource: "support:prompt/triage", tier: low }
                  allowed_origins: [https://app.example]
            """));

        var route = Assert.Single(policy.Routes);
        Assert.Equal(["POST", "GET", "DELETE"], route.Methods);
        var mcp = Assert.IsType<McpRoutePolicy>(route.Mcp);
        Assert.Equal("support:queue/{args.queue}", mcp.Tools["create_ticket"].Resource);
        Assert.Equal(ApprovalRequirement.Required, mcp.Tools["create_ticket"].Approval);
        Assert.Equal("support://kb/{slug}", Assert.Single(mcp.Resources).Name);
        Assert.Equal("support.prompts:get", mcp.Prompts["triage"].Action);
        Assert.False(mcp.AllowUnlistedTools);
        Assert.Equal(["https://app.example"], mcp.AllowedOrigins);

        var snapshot = new PolicySnapshot(policy, new NoTokens());
        var compiled = snapshot.Routes["support-mcp"].Mcp!;
        Assert.Equal("support.tickets:create", compiled.Tools["create_ticket"].Action);
        Assert.Equal("support-mcp", compiled.Tools["create_ticket"].Id);
        var (target, variables) = compiled.MatchResource("support://kb/refunds")!.Value;
        Assert.Equal("support.kb:read", target.Action);
        Assert.Equal("refunds", variables["slug"]);
        Assert.Null(compiled.MatchResource("support://kb/a/b"));
        Assert.Null(compiled.MatchResource("support://other/refunds"));
    }

    [Fact]
    public void LoadFromText_McpRouteWithRestKeys_EachIsAnErrorAtItsLine()
    {
        var result = Load("""
            routes:
              - id: support-mcp
                match: { methods: [POST], path: /mcp/support }
                upstream: crm
                action: support.mcp:use
                tier: low
                mcp:
                  tools:
                    get_ticket: { action: support.tickets:read, resource: "support:ticket/{args.id}", tier: low }
            """);

        PolicyAssert.HasError(result, 12, 23, "an MCP route serves POST, GET and DELETE");
        PolicyAssert.HasError(result, 14, 13, "'action' in route 'support-mcp': an MCP route decides each tool");
        PolicyAssert.HasError(result, 15, 11, "'tier' in route 'support-mcp'");
    }

    [Fact]
    public void LoadFromText_TargetTemplatesThatReadTheRequest_OrUnknownVariables_AreErrors()
    {
        var result = Load("""
            routes:
              - id: support-mcp
                match: { path: /mcp/support }
                upstream: crm
                mcp:
                  tools:
                    a: { action: support.tickets:read, resource: "support:ticket/{query.id}", tier: low }
                    b: { action: support.tickets:read, resource: "support:ticket/{id}", tier: low }
                    c: { action: support.tickets:read, resource: "support:ticket/{args.id}", tier: lowest }
                  resources:
                    - { uri: "support://kb/{slug}", action: support.kb:read, resource: "support:kb/{name}", tier: low }
                    - { uri: "support://kb/{+slug}", action: support.kb:read, resource: "support:kb/x", tier: low }
                    - { uri: "support://x/{a}", action: support.kb:read, resource: "support:kb/{args.a}", tier: low }
            """);

        PolicyAssert.HasError(result, 16, 54, "reads the HTTP request");
        PolicyAssert.HasError(result, 17, 54, "uses '{id}', which is not one of {args.NAME} placeholders");
        PolicyAssert.HasError(result, 18, 88, "lowest");
        PolicyAssert.HasError(result, 20, 76, "uses '{name}', which is not one of the uri's variables ({slug})");
        PolicyAssert.HasError(result, 21, 18, "is not a URI template: '{+slug}' is not a simple variable");
        PolicyAssert.HasError(result, 22, 72, "resources/read has no arguments");
    }

    [Fact]
    public void LoadFromText_McpSectionProblems_UnknownKeyEmptySectionBadOrigin()
    {
        var result = Load("""
            routes:
              - id: support-mcp
                match: { path: "/mcp/{server}" }
                upstream: crm
                mcp:
                  tool: {}
                  unlisted_tools: maybe
                  allowed_origins: [https://app.example/path]
            """);

        PolicyAssert.HasError(result, 12, 20, "an MCP route's path is one endpoint");
        PolicyAssert.HasError(result, 15, 7, "unknown key 'tool'");
        PolicyAssert.HasError(result, 15, 7, "names no tool, resource or prompt");
        PolicyAssert.HasError(result, 16, 23, "maybe");
        PolicyAssert.HasError(result, 17, 25, "is not an origin");
    }

    [Fact]
    public void LoadFromText_McpRouteAndRestRouteOnOnePath_Conflict()
    {
        var result = Load("""
            routes:
              - id: support-mcp
                match: { path: /mcp/support }
                upstream: crm
                mcp:
                  tools:
                    get_ticket: { action: support.tickets:read, resource: "support:ticket/{args.id}", tier: low }
              - id: support-rest
                match: { methods: [GET], path: /mcp/support }
                upstream: crm
                action: support.tickets:read
                resource: support:ticket/all
                tier: low
            """);

        PolicyAssert.HasError(result, 18, 24, "matches GET /mcp/support exactly like route 'support-mcp'");
    }

    private sealed class NoTokens : Gateway.Tokens.ITokenValidator
    {
        public ValueTask<Gateway.Tokens.TokenValidationResult> ValidateAsync(string token, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
