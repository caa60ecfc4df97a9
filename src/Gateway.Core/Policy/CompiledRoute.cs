using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Policy;

/// <summary>
/// A route's policy with every per-request question answered once at load time: the effective
/// tier values, the parsed resource template and the literal path segments. Attached to the
/// route's endpoint as metadata, so a request reads it without a lookup or a parse.
/// </summary>
public sealed class CompiledRoute
{
    private readonly (int Index, string Literal)[] _literalSegments;

    public CompiledRoute(RoutePolicy route, TierSettings tier, GatewaySettings gateway, string policySha256)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(tier);
        ArgumentNullException.ThrowIfNull(gateway);

        Route = route;
        Tier = tier;
        Risk = route.Risk ?? tier.Risk;
        MinIntent = route.MinIntent ?? tier.MinIntent;
        Approval = route.Approval ?? tier.Approval;
        Mode = route.Mode ?? gateway.Mode;
        StepUp = route.StepUp;
        PolicySha256 = policySha256;
        var pattern = RoutePatternFactory.Parse(route.Path);
        var catchAll = RouteTemplates.CatchAll(pattern);
        if (!ResourceTemplate.TryParse(route.Resource, catchAll, out var resource, out var error))
        {
            throw new ArgumentException($"Route '{route.Id}' has an invalid resource template: {error}", nameof(route));
        }

        Resource = resource;
        Irreversible = route.Irreversible ?? tier.Irreversible;

        // The loader checked describe's placeholders like the resource's, so it parses the same way.
        Describe = route.Describe is { } describe && ResourceTemplate.TryParse(describe, catchAll, out var text, out _) ? text : null;
        _literalSegments = LiteralSegments(pattern);
        StepUpChallenge = BuildChallengeParameters(StepUp);
    }

    public RoutePolicy Route { get; }
    public string Id => Route.Id;
    public string Action => Route.Action;
    public TierSettings Tier { get; }
    public int Risk { get; }
    public IntentMethod MinIntent { get; }
    public ApprovalRequirement Approval { get; }
    public EnforcementMode Mode { get; }
    public StepUpSettings? StepUp { get; }
    public ResourceTemplate Resource { get; }

    /// <summary>The route's <c>describe</c> template ("Delete customer {customerId}"), for approval pages; null when not set.</summary>
    public ResourceTemplate? Describe { get; }

    /// <summary>The route's <c>irreversible</c>, else its tier's.</summary>
    public bool Irreversible { get; }
    public string PolicySha256 { get; }

    /// <summary>The credential of the route's upstream, presented on allowed calls; null when the upstream has no <c>auth</c>.</summary>
    public Upstreams.UpstreamCredential? Credential { get; internal set; }

    /// <summary>An MCP route's targets; null for a REST route (and for the targets themselves).</summary>
    public CompiledMcpRoute? Mcp { get; internal set; }

    /// <summary>The load this route belongs to, so a request uses the validator of the same policy.</summary>
    public PolicySnapshot Snapshot { get; internal set; } = null!;

    /// <summary>The RFC 9470 parameters (<c>acr_values="..", max_age=..</c>) for this route's challenge, built once.</summary>
    public string? StepUpChallenge { get; }

    /// <summary>
    /// ASP.NET Core matches literal path segments case-insensitively, but an upstream may not.
    /// The gateway checks resources against the path as written in the policy, so a request
    /// whose literals differ in case is treated as matching no route.
    /// </summary>
    public bool LiteralsMatchExactly(ReadOnlySpan<char> path)
    {
        if (_literalSegments.Length == 0)
        {
            return true;
        }

        if (path.Length > 0 && path[0] == '/')
        {
            path = path[1..];
        }

        var index = 0;
        var next = 0;
        foreach (var range in path.Split('/'))
        {
            if (next < _literalSegments.Length && _literalSegments[next].Index == index)
            {
                if (!path[range].SequenceEqual(_literalSegments[next].Literal))
                {
                    return false;
                }

                next++;
            }

            index++;
        }

        return next == _literalSegments.Length;
    }

    private static (int, string)[] LiteralSegments(RoutePattern pattern)
    {
        var result = new List<(int, string)>();
        for (var i = 0; i < pattern.PathSegments.Count; i++)
        {
            var segment = pattern.PathSegments[i];
            if (segment.IsSimple && segment.Parts[0] is RoutePatternLiteralPart literal)
            {
                result.Add((i, literal.Content));
            }
        }

        return [.. result];
    }

    private static string? BuildChallengeParameters(StepUpSettings? stepUp)
    {
        if (stepUp is null)
        {
            return null;
        }

        var parts = new List<string>();
        if (stepUp.Acr.Count > 0)
        {
            parts.Add($"acr_values=\"{string.Join(' ', stepUp.Acr)}\"");
        }

        if (stepUp.MaxAge is { } maxAge)
        {
            parts.Add($"max_age={(long)maxAge.TotalSeconds}");
        }

        return parts.Count == 0 ? null : string.Join(", ", parts);
    }
}
