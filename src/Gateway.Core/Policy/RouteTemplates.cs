using System.Text;
using Gateway.Tokens;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Policy;

/// <summary>
/// Checks on a route's path template and on the <c>{placeholder}</c> templates (<c>resource</c>,
/// <c>describe</c>) that are filled from it per request.
/// </summary>
internal static class RouteTemplates
{
    public const string QueryPrefix = "query.";
    public const string HeaderPrefix = "header.";

    // The inline constraints ASP.NET routing knows ({id:int}, {n:min(1)}); "regex" is added by
    // AddRouting rather than being in the default map, and a YARP host always has it.
    private static readonly IReadOnlyCollection<string> KnownConstraints =
        [.. new RouteOptions().ConstraintMap.Keys, "regex"];

    /// <summary>Parses a path template; null with <paramref name="error"/> set when it is not a valid ASP.NET route template.</summary>
    public static RoutePattern? ParsePath(string path, out string? error)
    {
        error = null;
        RoutePattern pattern;
        try
        {
            pattern = RoutePatternFactory.Parse(path);
        }
        catch (RoutePatternException e)
        {
            error = e.Message;
            return null;
        }

        foreach (var parameter in pattern.Parameters)
        {
            foreach (var policy in parameter.ParameterPolicies)
            {
                var content = policy.Content ?? "";
                var name = content.Split('(', 2)[0];
                if (!KnownConstraints.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    error = $"unknown route constraint '{name}' on parameter '{parameter.Name}'{DidYouMean.Hint(name, KnownConstraints)}";
                    return null;
                }
            }
        }

        return pattern;
    }

    /// <summary>
    /// What two templates must share to match exactly the same requests: literals compared without
    /// case (as routing does), parameters by position and constraints, not by name, so
    /// <c>/c/{id}</c> and <c>/C/{customerId}</c> give the same key.
    /// </summary>
    public static string MatchKey(RoutePattern pattern)
    {
        var key = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            key.Append('/');
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal:
                        key.Append(literal.Content.ToUpperInvariant());
                        break;
                    case RoutePatternSeparatorPart separator:
                        key.Append(separator.Content);
                        break;
                    case RoutePatternParameterPart parameter:
                        key.Append('{').Append(parameter.IsCatchAll ? "**" : "");
                        foreach (var policy in parameter.ParameterPolicies)
                        {
                            key.Append(':').Append(policy.Content);
                        }

                        key.Append(parameter.IsOptional ? "?" : "").Append('}');
                        break;
                }
            }
        }

        return key.ToString();
    }

    /// <summary>
    /// The problems of a <c>{placeholder}</c> template: unbalanced braces, and placeholders that are
    /// neither a route parameter of <paramref name="pattern"/> nor <c>{query.NAME}</c> / <c>{header.NAME}</c>.
    /// </summary>
    public static List<string> CheckPlaceholders(string template, RoutePattern pattern)
    {
        var problems = new List<string>();
        var routeValues = pattern.Parameters.Select(p => p.Name).ToList();
        foreach (var placeholder in Placeholders(template, problems))
        {
            var problem = CheckPlaceholder(placeholder, routeValues);
            if (problem is not null)
            {
                problems.Add(problem);
            }
        }

        return problems;
    }

    /// <summary>The path's catch-all parameter (<c>{**path}</c>, always the last segment), or null when it has none.</summary>
    public static CatchAllParameter? CatchAll(RoutePattern pattern)
    {
        var last = pattern.PathSegments.Count - 1;
        return last >= 0 && pattern.PathSegments[last].Parts is [RoutePatternParameterPart { IsCatchAll: true } parameter]
            ? new CatchAllParameter(parameter.Name, last)
            : null;
    }

    /// <summary>
    /// Null when the path's catch-all parameter, if <paramref name="resource"/> uses it, fills whole segments
    /// (<c>files:doc/{path}</c>, <c>files:{path}/meta</c>), else what is wrong: glued to a literal
    /// (<c>files:doc/v{path}</c>), its first segment would join another one.
    /// </summary>
    public static string? CheckCatchAllPlacement(string resource, RoutePattern pattern)
    {
        if (CatchAll(pattern)?.Name is not { } name)
        {
            return null;
        }

        var placeholder = "{" + name + "}";
        for (var at = resource.IndexOf(placeholder, StringComparison.OrdinalIgnoreCase); at >= 0; at = resource.IndexOf(placeholder, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            var end = at + placeholder.Length;
            if (at == 0 || resource[at - 1] is not ('/' or ':') || (end < resource.Length && resource[end] != '/'))
            {
                return $"'{placeholder}' is the path's catch-all and fills one or more whole segments, so it must stand between '/' (or after ':') and '/' or the end, such as files:doc/{placeholder}";
            }
        }

        return null;
    }

    /// <summary>
    /// Null when <paramref name="resource"/> has the <c>service:type/id</c> shape of a concrete
    /// resource once its placeholders are filled in, else what is wrong with it.
    /// </summary>
    public static string? CheckResourceShape(string resource)
    {
        var colon = resource.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && resource.AsSpan(0, colon).ContainsAny('{', '}'))
        {
            return "its service part (before ':') must be written out, not a placeholder, such as crm:customer/{customerId}";
        }

        // Any value a placeholder may take at run time is checked then; here a sample stands in.
        var sample = new StringBuilder();
        var inside = false;
        foreach (var c in resource)
        {
            if (c == '{')
            {
                inside = true;
                sample.Append('x');
            }
            else if (c == '}')
            {
                inside = false;
            }
            else if (!inside)
            {
                sample.Append(c);
            }
        }

        if (sample.ToString().Contains('*', StringComparison.Ordinal))
        {
            return "a route names one concrete resource, so '*' is not allowed (wildcards belong in token grants)";
        }

        return ResourcePattern.TryParse(sample.ToString(), out _)
            ? null
            : "it must look like service:type/id, such as crm:customer/{customerId} (no empty, '.' or '..' segments)";
    }

    private static List<string> Placeholders(string template, List<string> problems)
    {
        var names = new List<string>();
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOfAny(['{', '}'], i);
            if (open < 0)
            {
                break;
            }

            if (template[open] == '}')
            {
                problems.Add($"'}}' at position {open + 1} has no matching '{{'");
                i = open + 1;
                continue;
            }

            var close = template.IndexOfAny(['{', '}'], open + 1);
            if (close < 0 || template[close] == '{')
            {
                problems.Add($"'{{' at position {open + 1} is not closed");
                i = close < 0 ? template.Length : close;
                continue;
            }

            names.Add(template[(open + 1)..close]);
            i = close + 1;
        }

        return names;
    }

    private static string? CheckPlaceholder(string name, List<string> routeValues)
    {
        foreach (var prefix in (string[])[QueryPrefix, HeaderPrefix])
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                var field = name[prefix.Length..];
                return HttpToken.IsValid(field)
                    ? null
                    : $"placeholder '{{{name}}}' needs a valid {prefix.TrimEnd('.')} name after '{prefix}' (letters, digits and -_.!#$%&'*+^`|~)";
            }
        }

        // Route values are matched without case, as ASP.NET's RouteValueDictionary does.
        if (routeValues.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        var hint = DidYouMean.Suggest(name, routeValues) is { } suggestion ? $"; did you mean '{{{suggestion}}}'?" : "";
        var defined = routeValues.Count == 0 ? "the path defines no parameters" : $"the path defines {string.Join(", ", routeValues.Select(v => $"{{{v}}}"))}";
        return $"placeholder '{{{name}}}' is not defined by the path ({defined}; use a path parameter, {{query.NAME}} or {{header.NAME}}{hint})";
    }
}
