namespace Gateway.Policy;

/// <summary>
/// A route's <c>mcp:</c> section: the route serves an MCP server over streamable HTTP, and each tool, resource
/// template and prompt of it names its own action, resource and tier, as a REST route does for its one call.
/// </summary>
public sealed record McpRoutePolicy
{
    /// <summary>Tools by name, for <c>tools/call</c>.</summary>
    public IReadOnlyDictionary<string, McpTargetPolicy> Tools { get; init; } = new Dictionary<string, McpTargetPolicy>(StringComparer.Ordinal);

    /// <summary>Resource URI templates in the order written, for <c>resources/read</c>: the first that matches decides.</summary>
    public IReadOnlyList<McpTargetPolicy> Resources { get; init; } = [];

    /// <summary>Prompts by name, for <c>prompts/get</c>.</summary>
    public IReadOnlyDictionary<string, McpTargetPolicy> Prompts { get; init; } = new Dictionary<string, McpTargetPolicy>(StringComparer.Ordinal);

    /// <summary><c>unlisted_tools: allow</c>: a tool the section does not name is called with a valid token alone (one step, no risk). Default deny.</summary>
    public bool AllowUnlistedTools { get; init; }

    /// <summary><c>allowed_origins</c>: browser origins (<c>https://app.example</c>) accepted besides loopback ones.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];
}

/// <summary>One tool, resource template or prompt of an MCP route, with the fields a REST route has for its call.</summary>
public sealed record McpTargetPolicy
{
    /// <summary>The tool or prompt name, or the resource URI template (<c>support://kb/{slug}</c>).</summary>
    public required string Name { get; init; }
    public required string Action { get; init; }

    /// <summary>Resource template: <c>{args.NAME}</c> (tools, prompts) or the URI template's variables (resources).</summary>
    public required string Resource { get; init; }
    public required string Tier { get; init; }
    public int? Risk { get; init; }
    public IntentMethod? MinIntent { get; init; }
    public ApprovalRequirement? Approval { get; init; }
    public EnforcementMode? Mode { get; init; }
    public StepUpSettings? StepUp { get; init; }
    public string? Describe { get; init; }
    public bool? Irreversible { get; init; }
    public SourceLocation Location { get; init; }

    /// <summary>The REST-shaped route this target is decided as: the MCP route's id, path and upstream with this target's fields.</summary>
    internal RoutePolicy AsRoute(RoutePolicy route) => route with
    {
        Methods = ["POST"],
        Action = Action,
        Resource = Resource,
        Tier = Tier,
        Risk = Risk,
        MinIntent = MinIntent,
        Approval = Approval,
        Mode = Mode ?? route.Mode,
        StepUp = StepUp,
        Describe = Describe,
        Irreversible = Irreversible,
        Location = Location,
        Mcp = null,
    };
}
