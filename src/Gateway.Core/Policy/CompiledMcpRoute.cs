using System.Collections.Frozen;
using Gateway.Tokens;

namespace Gateway.Policy;

/// <summary>
/// An MCP route's targets compiled once per load: each tool, resource template and prompt as a
/// <see cref="CompiledRoute"/> of its own (the MCP route's id, path and upstream with the target's action, resource and
/// tier), so every message is decided by the same evaluator, in the same order, as a REST call.
/// </summary>
public sealed class CompiledMcpRoute
{
    private readonly (McpUriTemplate Template, CompiledRoute Target)[] _resources;

    internal CompiledMcpRoute(CompiledRoute route, GatewayPolicy policy)
    {
        var mcp = route.Route.Mcp!;
        Route = route;
        Tools = mcp.Tools.ToFrozenDictionary(t => t.Key, t => Compile(route, t.Value, policy), StringComparer.Ordinal);
        Prompts = mcp.Prompts.ToFrozenDictionary(t => t.Key, t => Compile(route, t.Value, policy), StringComparer.Ordinal);
        _resources = [.. mcp.Resources.Select(r => (McpUriTemplate.TryParse(r.Name, out var template, out _) ? template : throw new ArgumentException($"Route '{route.Id}' has an invalid resource URI template '{r.Name}'.", nameof(route)), Compile(route, r, policy)))];
        AllowUnlistedTools = mcp.AllowUnlistedTools;
        AllowedOrigins = mcp.AllowedOrigins.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The MCP route itself: what protocol messages (checks 1-5 only) are decided as.</summary>
    public CompiledRoute Route { get; }

    public FrozenDictionary<string, CompiledRoute> Tools { get; }
    public FrozenDictionary<string, CompiledRoute> Prompts { get; }
    public bool AllowUnlistedTools { get; }
    public FrozenSet<string> AllowedOrigins { get; }

    /// <summary>Every target, for wiring them to the load (<see cref="PolicySnapshot"/>).</summary>
    internal IEnumerable<CompiledRoute> Targets => Tools.Values.Concat(Prompts.Values).Concat(_resources.Select(r => r.Target));

    /// <summary>The first resource template <paramref name="uri"/> matches, with its variables' values; null when none does.</summary>
    public (CompiledRoute Target, Dictionary<string, string> Variables)? MatchResource(string uri)
    {
        foreach (var (template, target) in _resources)
        {
            if (template.TryMatch(uri, out var variables))
            {
                return (target, variables);
            }
        }

        return null;
    }

    /// <summary>
    /// For filtering <c>tools/list</c>: true when the token could call <paramref name="tool"/> at all, that is the route
    /// lists it and some grant entry of the token names its action (or the route lets unlisted tools through). Which
    /// resource a call names depends on its arguments, so a listed tool may still be refused for one call.
    /// </summary>
    public bool MayList(CapabilityToken token, string tool)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!Tools.TryGetValue(tool, out var target))
        {
            return AllowUnlistedTools;
        }

        foreach (var grant in token.Grants)
        {
            foreach (var action in grant.Actions)
            {
                if (action.Matches(target.Action))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static CompiledRoute Compile(CompiledRoute route, McpTargetPolicy target, GatewayPolicy policy) =>
        new(target.AsRoute(route.Route), policy.Tiers[target.Tier], policy.Gateway, policy.Sha256);
}
