using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;

namespace Gateway.Policy;

/// <summary>
/// Matches a method and path against a snapshot's routes without a server, for
/// <c>gateway explain</c>. The live gateway uses ASP.NET Core routing; this follows the same
/// preference (more literal segments first, then fewer parameters) for the policies it accepts.
/// </summary>
public sealed class RouteTable
{
    private readonly (CompiledRoute Route, TemplateMatcher Matcher, int Literals, int Parameters)[] _routes;

    public RouteTable(PolicySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _routes = snapshot.Routes.Values
            .Select(r =>
            {
                var pattern = RoutePatternFactory.Parse(r.Route.Path);
                var literals = pattern.PathSegments.Count(s => s.IsSimple && s.Parts[0].IsLiteral);
                return (r, new TemplateMatcher(TemplateParser.Parse(r.Route.Path), new RouteValueDictionary()), literals, pattern.Parameters.Count);
            })
            .OrderByDescending(r => r.literals)
            .ThenBy(r => r.Count)
            .ToArray();
    }

    public CompiledRoute? Match(string method, string path, RouteValueDictionary values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (route, matcher, _, _) in _routes)
        {
            if (route.Route.Methods.Count > 0 && !route.Route.Methods.Contains(method, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            values.Clear();
            if (matcher.TryMatch(path, values))
            {
                return route;
            }
        }

        values.Clear();
        return null;
    }
}
