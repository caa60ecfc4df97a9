using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private static readonly string[] McpKeys = ["tools", "resources", "prompts", "unlisted_tools", "allowed_origins"];
    private static readonly string[] McpTargetKeys = ["action", "resource", "tier", "risk", "min_intent", "approval", "mode", "step_up", "describe", "irreversible"];
    private static readonly string[] McpResourceKeys = ["uri", .. McpTargetKeys];
    private static readonly Dictionary<string, bool> UnlistedToolsNames = new(StringComparer.Ordinal) { ["deny"] = false, ["allow"] = true };

    /// <summary>A route's <c>mcp:</c> section; null when it cannot be used (its problems are reported).</summary>
    private McpRoutePolicy? BindMcp(MappingReader route, string label)
    {
        foreach (var key in CallKeys)
        {
            if (route.Value(key) is { } present)
            {
                route.File.Error(present, $"'{key}' {label}: an MCP route decides each tool, resource and prompt on its own, so '{key}' belongs on the entries under 'mcp'");
            }
        }

        var mcp = route.Mapping("mcp", $"for 'mcp' {label}", McpKeys, required: true);
        if (mcp is null)
        {
            return null;
        }

        var errors = route.File.Errors.Count;
        var tools = BindMcpNamed(mcp, "tools", "tool", label);
        var prompts = BindMcpNamed(mcp, "prompts", "prompt", label);
        var resources = BindMcpResources(mcp, label);
        var unlisted = mcp.Scalar("unlisted_tools") is { } node ? MappingReader.ReadEnum(mcp.File, node, $"'unlisted_tools' {label}", UnlistedToolsNames) : false;
        var origins = new List<string>();
        foreach (var item in mcp.ScalarList("allowed_origins") ?? [])
        {
            var text = item.Value ?? "";
            if (!Uri.TryCreate(text, UriKind.Absolute, out var origin) || origin.Scheme is not ("http" or "https") || origin.PathAndQuery != "/" || text.EndsWith('/'))
            {
                mcp.File.Error(item, $"'{text}' in 'allowed_origins' {label} is not an origin: write scheme, host and port only, such as https://app.example or http://localhost:3000");
                continue;
            }

            origins.Add(origin.GetLeftPart(UriPartial.Authority));
        }

        if (tools.Count == 0 && prompts.Count == 0 && resources.Count == 0 && unlisted is not true)
        {
            mcp.File.Error(mcp.Node, $"'mcp' {label} names no tool, resource or prompt, so every call would be refused; list them under 'tools', 'resources' and 'prompts'");
        }

        return route.File.Errors.Count > errors ? null : new McpRoutePolicy
        {
            Tools = tools,
            Prompts = prompts,
            Resources = resources,
            AllowUnlistedTools = unlisted ?? false,
            AllowedOrigins = origins,
        };
    }

    private Dictionary<string, McpTargetPolicy> BindMcpNamed(MappingReader mcp, string key, string kind, string label)
    {
        var targets = new Dictionary<string, McpTargetPolicy>(StringComparer.Ordinal);
        var node = mcp.Value(key);
        if (node is null)
        {
            return targets;
        }

        if (node is not YamlMappingNode mapping)
        {
            mcp.File.Error(node, $"'{key}' in 'mcp' {label} must map each {kind} name to its action, resource and tier, such as create_ticket: {{ action: ..., resource: ..., tier: ... }}, found {YamlValues.Describe(node)}");
            return targets;
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { Length: > 0 and <= 128 } name } || name.Any(char.IsControl))
            {
                mcp.File.Error(keyNode, $"{kind} names in 'mcp.{key}' {label} must be 1 to 128 characters without control characters, found {YamlValues.Describe(keyNode)}");
                continue;
            }

            var where = $"in {kind} '{name}' of {label[3..]}";
            var reader = MappingReader.Open(mcp.File, value, where, McpTargetKeys, emptyAt: keyNode);
            if (reader is not null && BindMcpTarget(reader, name, variables: null) is { } target)
            {
                targets[name] = target;
            }
        }

        return targets;
    }

    private List<McpTargetPolicy> BindMcpResources(MappingReader mcp, string label)
    {
        var targets = new List<McpTargetPolicy>();
        var node = mcp.Value("resources");
        if (node is null)
        {
            return targets;
        }

        if (node is not YamlSequenceNode sequence)
        {
            mcp.File.Error(node, $"'resources' in 'mcp' {label} must be a list of URI templates with their action, resource and tier, such as - {{ uri: \"support://kb/{{slug}}\", action: ..., resource: ..., tier: ... }}, found {YamlValues.Describe(node)}");
            return targets;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var where = $"in resources[{i}] of {label[3..]}";
            var reader = MappingReader.Open(mcp.File, item, where, McpResourceKeys);
            if (reader?.Scalar("uri", required: true) is not { } uriNode)
            {
                continue;
            }

            var uri = uriNode.Value ?? "";
            if (!McpUriTemplate.TryParse(uri, out var template, out var error))
            {
                mcp.File.Error(uriNode, $"uri '{uri}' {where} is not a URI template: {error}");
                continue;
            }

            if (!seen.Add(uri))
            {
                mcp.File.Error(uriNode, $"uri '{uri}' {where} is listed twice; the first entry would always decide");
                continue;
            }

            if (BindMcpTarget(reader, uri, [.. template.Variables]) is { } target)
            {
                targets.Add(target);
            }
        }

        return targets;
    }

    /// <summary>One tool, prompt (<paramref name="variables"/> null: the resource reads <c>{args.NAME}</c>) or resource template (the resource reads its variables).</summary>
    private McpTargetPolicy? BindMcpTarget(MappingReader reader, string name, IReadOnlyList<string>? variables)
    {
        var tier = reader.Scalar("tier", required: true);
        if (tier is not null)
        {
            CheckTierExists(reader.File, tier, reader.Where);
        }

        var action = BindAction(reader);
        var resource = BindMcpTemplate(reader, "resource", variables, required: true);
        var describe = BindMcpTemplate(reader, "describe", variables, required: false);
        var risk = reader.Int("risk", minimum: 0);
        var minIntent = reader.Enum("min_intent", PolicyNames.Intents);
        var approval = reader.Enum("approval", PolicyNames.Approvals);
        var mode = reader.Enum("mode", PolicyNames.Modes);
        var stepUp = BindStepUp(reader, "step_up");
        var irreversible = reader.Bool("irreversible");
        if (action is null || resource is null || tier is null)
        {
            return null;
        }

        return new McpTargetPolicy
        {
            Name = name,
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
            Location = reader.File.At(reader.Node),
        };
    }

    /// <summary>
    /// A target's <c>resource</c> or <c>describe</c>: filled from the message, so its placeholders are <c>{args.NAME}</c> for
    /// tools and prompts and the URI template's variables for resources; the request's query, headers and path offer nothing.
    /// </summary>
    private static string? BindMcpTemplate(MappingReader reader, string key, IReadOnlyList<string>? variables, bool required)
    {
        if (reader.Scalar(key, required) is not { } node)
        {
            return null;
        }

        var text = node.Value ?? "";
        if (!ResourceTemplate.TryParse(text, out var template, out var error))
        {
            reader.File.Error(node, $"{key} '{text}' {reader.Where}: {error}");
            return null;
        }

        var valid = true;
        var expected = variables is null ? "{args.NAME} placeholders (the call's arguments)" : $"the uri's variables ({string.Join(", ", variables.Select(v => "{" + v + "}"))})";
        if (template.ReadsRequest)
        {
            reader.File.Error(node, $"{key} '{text}' {reader.Where} reads the HTTP request, which an MCP message does not choose; use {expected}");
            valid = false;
        }

        foreach (var value in template.RouteValueNames)
        {
            if (variables is null || !variables.Contains(value, StringComparer.Ordinal))
            {
                reader.File.Error(node, $"{key} '{text}' {reader.Where} uses '{{{value}}}', which is not one of {expected}");
                valid = false;
            }
        }

        if (variables is not null && template.ArgumentNames.Any())
        {
            reader.File.Error(node, $"{key} '{text}' {reader.Where} uses {{args.NAME}}, but resources/read has no arguments; use {expected}");
            valid = false;
        }

        foreach (var argument in template.ArgumentNames)
        {
            if (argument.Split('.').Any(s => s.Length == 0))
            {
                reader.File.Error(node, $"{key} '{text}' {reader.Where}: '{{args.{argument}}}' has an empty member name");
                valid = false;
            }
        }

        if (key == "resource" && RouteTemplates.CheckResourceShape(text) is { } shape)
        {
            reader.File.Error(node, $"resource '{text}' {reader.Where} is not a resource template: {shape}");
            valid = false;
        }

        return valid ? text : null;
    }
}
