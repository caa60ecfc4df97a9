using Gateway.Tokens;
using Microsoft.AspNetCore.Routing.Patterns;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private static readonly string[] RouteKeys =
        ["id", "match", "upstream", "action", "resource", "tier", "risk", "min_intent", "approval", "mode", "step_up", "describe", "irreversible", "mcp"];

    // What a REST route says about its one call; an MCP route says it per tool, resource and prompt instead.
    private static readonly string[] McpMethods = ["POST", "GET", "DELETE"];

    private static readonly string[] CallKeys = ["action", "resource", "tier", "risk", "min_intent", "approval", "step_up", "describe", "irreversible"];

    private List<RoutePolicy> BindRoutes()
    {
        var routes = new List<RoutePolicy>();
        var ids = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);

        // A request must match one route only: two routes with the same method and the same
        // template would make the action and resource checked depend on registration order.
        var matches = new Dictionary<string, (string Id, SourceLocation Location)>(StringComparer.Ordinal);

        foreach (var (file, item, index) in MergedItems("routes", "a list of routes such as - id: crm-get-customer"))
        {
            var label = MappingReader.Peek(item, "id") is { } peeked ? $"in route '{peeked}'" : $"in routes[{index}]";
            var reader = MappingReader.Open(file, item, label, RouteKeys);
            if (reader is null)
            {
                continue;
            }

            var id = BindRouteId(reader, ids);
            var isMcp = reader.Has("mcp");
            var (methods, path, pattern) = BindMatch(reader, isMcp);
            var upstream = reader.Scalar("upstream", required: true);
            if (upstream is not null && _complete && !_upstreams.ContainsKey(upstream.Value ?? ""))
            {
                file.Error(upstream, $"unknown upstream '{upstream.Value}' {label}{KnownNames(upstream.Value ?? "", _upstreams.Keys, "upstreams")}");
            }

            if (isMcp)
            {
                var routeMode = reader.Enum("mode", PolicyNames.Modes);
                var mcp = BindMcp(reader, label);
                if (pattern is not null && id is not null)
                {
                    CheckUniqueMatch(file, reader, matches, id, path!, pattern, methods);
                }

                if (id is not null && path is not null && upstream is not null && mcp is not null)
                {
                    routes.Add(new RoutePolicy
                    {
                        Id = id,
                        Methods = [.. methods.Select(m => m.Method)],
                        Path = path,
                        Upstream = upstream.Value ?? "",
                        Action = "",
                        Resource = "",
                        Tier = "",
                        Mode = routeMode,
                        Location = file.At(reader.Node),
                        Mcp = mcp,
                    });
                }

                continue;
            }

            var tier = reader.Scalar("tier", required: true);
            if (tier is not null)
            {
                CheckTierExists(file, tier, label);
            }

            var action = BindAction(reader);
            var resource = BindTemplate(reader, "resource", pattern, required: true);
            var describe = BindTemplate(reader, "describe", pattern, required: false);
            var risk = reader.Int("risk", minimum: 0);
            var minIntent = reader.Enum("min_intent", PolicyNames.Intents);
            var approval = reader.Enum("approval", PolicyNames.Approvals);
            var mode = reader.Enum("mode", PolicyNames.Modes);
            var stepUp = BindStepUp(reader, "step_up");
            var irreversible = reader.Bool("irreversible");

            if (pattern is not null && id is not null)
            {
                CheckUniqueMatch(file, reader, matches, id, path!, pattern, methods);
            }

            if (id is null || path is null || upstream is null || action is null || resource is null || tier is null)
            {
                continue;
            }

            routes.Add(new RoutePolicy
            {
                Id = id,
                Methods = [.. methods.Select(m => m.Method)],
                Path = path,
                Upstream = upstream.Value ?? "",
                Action = action,
                Resource = resource,
                Tier = tier.Value ?? "",
                Risk = risk,
                MinIntent = minIntent,
                Approval = approval,
                Mode = mode,
                StepUp = stepUp,
                Describe = describe,
                Irreversible = irreversible,
                Location = file.At(reader.Node),
            });
        }

        return routes;
    }

    private static void CheckUniqueMatch(PolicyFile file, MappingReader reader, Dictionary<string, (string Id, SourceLocation Location)> matches, string id, string path, RoutePattern pattern, List<(string Method, YamlScalarNode Node)> methods)
    {
        var key = RouteTemplates.MatchKey(pattern);
        foreach (var (method, node) in methods)
        {
            if (matches.TryGetValue($"{method} {key}", out var other))
            {
                file.Error(node, $"route '{id}' matches {method} {path} exactly like route '{other.Id}' at {other.Location}; a request must match only one route");
            }
            else
            {
                matches.Add($"{method} {key}", (id, file.At(reader.Node)));
            }
        }
    }

    private static string? BindRouteId(MappingReader reader, Dictionary<string, SourceLocation> ids)
    {
        if (reader.Scalar("id", required: true) is not { } node)
        {
            return null;
        }

        var id = node.Value ?? "";
        if (!IsPlainName(id))
        {
            reader.File.Error(node, $"route id '{id}' must be letters, digits, '.', '_' or '-' (it appears in problem details, metrics and audit lines)");
            return null;
        }

        if (ids.TryGetValue(id, out var first))
        {
            reader.File.Error(node, $"duplicate route id '{id}': already used at {first}");
            return null;
        }

        ids.Add(id, reader.File.At(node));
        return id;
    }

    private static (List<(string Method, YamlScalarNode Node)> Methods, string? Path, RoutePattern? Pattern) BindMatch(MappingReader route, bool isMcp)
    {
        var methods = new List<(string Method, YamlScalarNode Node)>();
        var match = route.Mapping("match", $"for 'match' {route.Where}", ["methods", "path"], required: true);
        if (match is null)
        {
            return (methods, null, null);
        }

        if (isMcp)
        {
            // The streamable HTTP transport is POST (messages), GET (the server's stream) and DELETE (end of a session).
            if (match.Value("methods") is { } listed)
            {
                route.File.Error(listed, $"'methods' {route.Where}: an MCP route serves POST, GET and DELETE, the methods of MCP's streamable HTTP transport; remove 'methods'");
            }

            var mcpPath = match.Scalar("path", required: true);
            if (mcpPath is null)
            {
                return (methods, null, null);
            }

            var mcpPattern = RouteTemplates.ParsePath(mcpPath.Value ?? "", out var mcpError);
            if (mcpPattern is null)
            {
                route.File.Error(mcpPath, $"invalid path template '{mcpPath.Value}' {route.Where}: {mcpError}");
            }
            else if (mcpPattern.Parameters.Count > 0)
            {
                route.File.Error(mcpPath, $"path '{mcpPath.Value}' {route.Where}: an MCP route's path is one endpoint, written out without parameters");
                mcpPattern = null;
            }

            methods.AddRange(McpMethods.Select(m => (m, mcpPath)));
            return (methods, mcpPath.Value ?? "", mcpPattern);
        }

        // Methods are required: an action such as crm.customers:read means one kind of call, and a
        // route that forwarded any method under it would let a DELETE pass as a read.
        foreach (var item in match.ScalarList("methods", required: true) ?? [])
        {
            var method = (item.Value ?? "").ToUpperInvariant();
            if (method == "*")
            {
                route.File.Error(item, $"'*' in 'methods' {route.Where} is not supported: list each method the route's action stands for (such as [GET, HEAD])");
            }
            else if (!HttpToken.IsValid(method))
            {
                route.File.Error(item, $"'{item.Value}' in 'methods' {route.Where} is not an HTTP method name (such as GET, POST, PATCH, DELETE)");
            }
            else if (methods.Exists(m => m.Method == method))
            {
                route.File.Error(item, $"method {method} is listed twice in 'methods' {route.Where}");
            }
            else
            {
                methods.Add((method, item));
            }
        }

        var pathNode = match.Scalar("path", required: true);
        if (pathNode is null)
        {
            return (methods, null, null);
        }

        var path = pathNode.Value ?? "";
        var pattern = RouteTemplates.ParsePath(path, out var error);
        if (pattern is null)
        {
            route.File.Error(pathNode, $"invalid path template '{path}' {route.Where}: {error}");
        }

        return (methods, path, pattern);
    }

    /// <summary>A route names one concrete action; patterns with '*' are for token grants.</summary>
    private static string? BindAction(MappingReader route)
    {
        if (route.Scalar("action", required: true) is not { } node)
        {
            return null;
        }

        var action = node.Value ?? "";
        if (!ActionPattern.TryParse(action, out _))
        {
            route.File.Error(node, $"action '{action}' {route.Where} must be service.object:verb, such as crm.customers:read");
            return null;
        }

        if (action.Contains('*', StringComparison.Ordinal))
        {
            route.File.Error(node, $"action '{action}' {route.Where} uses '*', but a route names one concrete action (wildcards belong in token grants)");
            return null;
        }

        return action;
    }

    /// <summary>
    /// <c>resource</c> and <c>describe</c> are filled per request, so every placeholder must be one
    /// the request can supply. Placeholders are checked only once the path parsed.
    /// </summary>
    private static string? BindTemplate(MappingReader route, string key, RoutePattern? pattern, bool required)
    {
        if (route.Scalar(key, required) is not { } node)
        {
            return null;
        }

        var template = node.Value ?? "";
        var valid = true;
        if (pattern is not null)
        {
            foreach (var problem in RouteTemplates.CheckPlaceholders(template, pattern))
            {
                route.File.Error(node, $"{key} '{template}' {route.Where}: {problem}");
                valid = false;
            }
        }

        if (key == "resource" && pattern is not null && RouteTemplates.CheckCatchAllPlacement(template, pattern) is { } placement)
        {
            route.File.Error(node, $"resource '{template}' {route.Where}: {placement}");
            valid = false;
        }

        if (key == "resource" && RouteTemplates.CheckResourceShape(template) is { } shape)
        {
            route.File.Error(node, $"resource '{template}' {route.Where} is not a resource template: {shape}");
            valid = false;
        }

        return valid ? template : null;
    }

    /// <summary>A route's <c>step_up</c> or a tier's <c>approver_step_up</c>: <c>{ acr: [...], max_age: 5m }</c>.</summary>
    private static StepUpSettings? BindStepUp(MappingReader route, string key)
    {
        var stepUp = route.Mapping(key, $"for '{key}' {route.Where}", ["acr", "max_age"]);
        if (stepUp is null)
        {
            return null;
        }

        var acr = stepUp.ScalarList("acr", required: stepUp.Has("acr"))?.Select(a => a.Value ?? "").ToList();
        var maxAge = stepUp.Duration("max_age");
        if (acr is null && maxAge is null && !stepUp.Has("acr") && !stepUp.Has("max_age"))
        {
            route.File.Error(stepUp.Node, $"'{key}' {route.Where} must set 'acr' (accepted authentication context classes), 'max_age' (how recent the login must be), or both");
        }

        return new StepUpSettings { Acr = acr ?? [], MaxAge = maxAge };
    }
}
