using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Policy;

/// <summary>
/// A route's <c>resource</c> template (<c>crm:customer/{customerId}</c>), parsed once per policy
/// load into literal and placeholder parts so a request only concatenates. A placeholder naming the
/// path's catch-all parameter (<c>{**path}</c>) fills one or more segments
/// (<c>files:doc/{path}</c> gives <c>files:doc/public/a.txt</c>); every other placeholder fills one.
/// </summary>
public sealed class ResourceTemplate
{
    private readonly Part[] _parts;
    private readonly int _literalLength;

    // The common shape, one placeholder between literals (crm:customer/{customerId}), is built with
    // one string.Concat and no per-request array; -1 when the template has another shape.
    private readonly int _singlePlaceholder = -1;
    private readonly string _prefix = "";
    private readonly string _suffix = "";

    private ResourceTemplate(string text, Part[] parts)
    {
        Text = text;
        _parts = parts;
        var placeholders = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Kind == PartKind.Literal)
            {
                _literalLength += parts[i].Value.Length;
            }
            else
            {
                placeholders++;
                _singlePlaceholder = i;
            }
        }

        if (placeholders != 1)
        {
            _singlePlaceholder = -1;
            return;
        }

        // Parsing merges adjacent literal characters, so at most one literal stands on each side.
        _prefix = _singlePlaceholder > 0 ? parts[0].Value : "";
        _suffix = _singlePlaceholder < parts.Length - 1 ? parts[^1].Value : "";
    }

    public string Text { get; }

    /// <summary>Route values the template reads (for validating it against the path).</summary>
    public IEnumerable<string> RouteValueNames => _parts.Where(p => p.Kind is PartKind.RouteValue or PartKind.CatchAll).Select(p => p.Value);

    public static bool TryParse(string text, [NotNullWhen(true)] out ResourceTemplate? template, out string? error) =>
        TryParse(text, catchAll: null, out template, out error);

    /// <param name="text">The template.</param>
    /// <param name="catchAll">The path's catch-all parameter, or null when it has none.</param>
    /// <param name="template">The parsed template.</param>
    /// <param name="error">What is wrong with <paramref name="text"/>.</param>
    public static bool TryParse(string text, CatchAllParameter? catchAll, [NotNullWhen(true)] out ResourceTemplate? template, out string? error)
    {
        template = null;
        error = null;
        var parts = new List<Part>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '}')
            {
                error = $"unbalanced '}}' at position {i + 1}";
                return false;
            }

            if (c != '{')
            {
                literal.Append(c);
                continue;
            }

            var end = text.IndexOf('}', i + 1);
            if (end < 0)
            {
                error = $"unclosed '{{' at position {i + 1}";
                return false;
            }

            var name = text[(i + 1)..end];
            if (!TryParsePlaceholder(name, catchAll, out var part, out error))
            {
                return false;
            }

            if (literal.Length > 0)
            {
                parts.Add(new Part(PartKind.Literal, literal.ToString()));
                literal.Clear();
            }

            parts.Add(part);
            i = end;
        }

        if (literal.Length > 0)
        {
            parts.Add(new Part(PartKind.Literal, literal.ToString()));
        }

        template = new ResourceTemplate(text, [.. parts]);
        return true;
    }

    /// <summary>
    /// Builds the concrete resource for a request. Fails when a placeholder has no value or a
    /// value that could change the resource's shape (a '/', a dot segment, a control character):
    /// a query string or header must never let a caller pick another resource than the path names.
    /// </summary>
    public bool TryExpand(HttpRequest request, [NotNullWhen(true)] out string? resource, [NotNullWhen(false)] out string? problem)
    {
        resource = null;
        problem = null;
        if (_parts.Length == 1 && _parts[0].Kind == PartKind.Literal)
        {
            resource = _parts[0].Value;
            return true;
        }

        if (_singlePlaceholder >= 0)
        {
            if (!TryReadValue(request, _parts[_singlePlaceholder], out var single, out problem))
            {
                return false;
            }

            resource = string.Concat(_prefix, single, _suffix);
            return true;
        }

        var values = new string?[_parts.Length];
        var length = _literalLength;
        for (var i = 0; i < _parts.Length; i++)
        {
            var part = _parts[i];
            if (part.Kind == PartKind.Literal)
            {
                continue;
            }

            if (!TryReadValue(request, part, out var value, out problem))
            {
                return false;
            }

            values[i] = value;
            length += value.Length;
        }

        resource = string.Create(length, (_parts, values), static (span, state) =>
        {
            var (parts, vals) = state;
            var at = 0;
            for (var i = 0; i < parts.Length; i++)
            {
                var text = parts[i].Kind == PartKind.Literal ? parts[i].Value : vals[i]!;
                text.AsSpan().CopyTo(span[at..]);
                at += text.Length;
            }
        });
        return true;
    }

    /// <summary>
    /// For replaying an audited call (<c>gateway diff --audit</c>): the query and header values that gave
    /// <paramref name="resource"/> when this template was expanded. The audit keeps the resource, never the
    /// query string or headers, so this is how a replay gets them back. False when the resource does not
    /// have this template's shape, or two placeholders touch and their values cannot be told apart.
    /// </summary>
    internal bool TryRecoverInputs(string resource, out List<(bool IsHeader, string Name, string Value)> inputs)
    {
        inputs = [];
        var at = 0;
        for (var i = 0; i < _parts.Length; i++)
        {
            var part = _parts[i];
            if (part.Kind == PartKind.Literal)
            {
                if (!resource.AsSpan(at).StartsWith(part.Value, StringComparison.Ordinal))
                {
                    return false;
                }

                at += part.Value.Length;
                continue;
            }

            int end;
            if (i == _parts.Length - 1)
            {
                end = resource.Length;
            }
            else if (_parts[i + 1].Kind == PartKind.Literal)
            {
                end = resource.IndexOf(_parts[i + 1].Value, at, StringComparison.Ordinal);
                if (end < 0)
                {
                    return false;
                }
            }
            else
            {
                return false;
            }

            if (part.Kind is PartKind.Query or PartKind.Header)
            {
                inputs.Add((part.Kind == PartKind.Header, part.Value, resource[at..end]));
            }

            at = end;
        }

        return at == resource.Length;
    }

    /// <summary>The <c>{args.NAME}</c> placeholders' names (<c>a.b</c> for nested ones).</summary>
    public IEnumerable<string> ArgumentNames => _parts.Where(p => p.Kind == PartKind.Argument).Select(p => p.Value);

    /// <summary>True when the template reads the query string, a header or the path's catch-all, which MCP targets cannot supply.</summary>
    internal bool ReadsRequest => _parts.Any(p => p.Kind is PartKind.Query or PartKind.Header or PartKind.CatchAll);

    /// <summary>
    /// Builds the resource of an MCP message: <c>{args.NAME}</c> from its <c>params.arguments</c>, <c>{NAME}</c> from
    /// the variables its resource URI matched. A missing value, one that is not a string, number or boolean, or one
    /// that could change the resource's shape fails, and the call is then out of scope.
    /// </summary>
    public bool TryExpandMessage(System.Text.Json.JsonElement? arguments, IReadOnlyDictionary<string, string>? variables, [NotNullWhen(true)] out string? resource, [NotNullWhen(false)] out string? problem)
    {
        resource = null;
        problem = null;
        var builder = new StringBuilder(_literalLength + 16);
        foreach (var part in _parts)
        {
            if (part.Kind == PartKind.Literal)
            {
                builder.Append(part.Value);
                continue;
            }

            var value = part.Kind switch
            {
                PartKind.Argument => ReadArgument(arguments, part.Value),
                PartKind.RouteValue => variables?.GetValueOrDefault(part.Value),
                _ => null,
            };
            if (string.IsNullOrEmpty(value))
            {
                problem = $"The call has no string or number for '{part.Display}', which this target's resource needs.";
                return false;
            }

            if (!IsSafeSegment(value))
            {
                problem = $"The value of '{part.Display}' is not a valid resource segment.";
                return false;
            }

            builder.Append(value);
        }

        resource = builder.ToString();
        return true;
    }

    private static string? ReadArgument(System.Text.Json.JsonElement? arguments, string path)
    {
        if (arguments is not { ValueKind: System.Text.Json.JsonValueKind.Object } current)
        {
            return null;
        }

        foreach (var range in path.AsSpan().Split('.'))
        {
            if (current.ValueKind != System.Text.Json.JsonValueKind.Object || !current.TryGetProperty(path.AsSpan()[range], out current))
            {
                return null;
            }
        }

        return current.ValueKind switch
        {
            System.Text.Json.JsonValueKind.String => current.GetString(),
            System.Text.Json.JsonValueKind.Number => current.GetRawText(),
            System.Text.Json.JsonValueKind.True => "true",
            System.Text.Json.JsonValueKind.False => "false",
            _ => null,
        };
    }

    /// <summary>True when the template reads the query string or a header.</summary>
    internal bool ReadsQueryOrHeaders => _parts.Any(p => p.Kind is PartKind.Query or PartKind.Header);

    public override string ToString() => Text;

    private static bool TryReadValue(HttpRequest request, Part part, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out string? problem)
    {
        value = Read(request, part);
        if (string.IsNullOrEmpty(value))
        {
            problem = $"The request has no value for '{part.Display}', which this route's resource needs.";
            value = null;
            return false;
        }

        if (part.Kind == PartKind.CatchAll)
        {
            problem = CheckCatchAll(value, part);
            if (problem is not null)
            {
                value = null;
                return false;
            }

            return true;
        }

        if (!IsSafeSegment(value))
        {
            problem = $"The value of '{part.Display}' is not a valid resource segment.";
            value = null;
            return false;
        }

        problem = null;
        return true;
    }

    private static string? Read(HttpRequest request, Part part) => part.Kind switch
    {
        PartKind.CatchAll => PathFrom(request.Path.Value, part.Segment),
        PartKind.RouteValue => request.RouteValues.TryGetValue(part.Value, out var v) ? v as string ?? v?.ToString() : null,
        PartKind.Query => SingleOrNull(request.Query[part.Value]),
        PartKind.Header => SingleOrNull(request.Headers[part.Value]),
        _ => null,
    };

    // Two values for one placeholder are ambiguous (which one did the upstream use?), so refuse.
    private static string? SingleOrNull(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 1 ? values[0] : null;

    /// <summary>
    /// The path from its segment <paramref name="segment"/> (0-based) on: what the catch-all matched, read from the path
    /// YARP forwards rather than from the route value, so the resource checked is the one the upstream reads.
    /// </summary>
    private static string? PathFrom(string? path, int segment)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            return null;
        }

        var at = 0;
        for (var i = 0; i < segment; i++)
        {
            at = path.IndexOf('/', at + 1);
            if (at < 0)
            {
                return null;
            }
        }

        return path[(at + 1)..];
    }

    // A catch-all value becomes several resource segments, so each is held to what a single value is.
    private static string? CheckCatchAll(string value, Part part)
    {
        foreach (var range in value.AsSpan().Split('/'))
        {
            var segment = value.AsSpan()[range];
            if (segment.IsEmpty || !IsSafeSegment(segment) || segment.Contains('%'))
            {
                return $"The value of '{part.Display}' has a segment that is not a valid resource segment (empty, '.', '..', or holding '\\', '%', '*' or a control character).";
            }
        }

        return null;
    }

    private static bool IsSafeSegment(ReadOnlySpan<char> value)
    {
        if (value is "." or ".." or "*" or "**")
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is '/' or '\\' or '*' || char.IsControl(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParsePlaceholder(string name, CatchAllParameter? catchAll, out Part part, out string? error)
    {
        part = default;
        error = null;
        PartKind kind;
        string value;
        if (name.StartsWith("query.", StringComparison.Ordinal))
        {
            kind = PartKind.Query;
            value = name["query.".Length..];
        }
        else if (name.StartsWith("header.", StringComparison.Ordinal))
        {
            kind = PartKind.Header;
            value = name["header.".Length..];
        }
        else if (name.StartsWith("args.", StringComparison.Ordinal))
        {
            kind = PartKind.Argument;
            value = name["args.".Length..];
        }
        else
        {
            kind = PartKind.RouteValue;
            value = name;
        }

        if (value.Length == 0 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            error = $"'{{{name}}}' is not a valid placeholder (use {{routeValue}}, {{query.NAME}} or {{header.NAME}})";
            return false;
        }

        // Route values compare without case, as ASP.NET routing's do.
        if (kind == PartKind.RouteValue && catchAll is { } all && string.Equals(value, all.Name, StringComparison.OrdinalIgnoreCase))
        {
            part = new Part(PartKind.CatchAll, value, all.Segment);
            return true;
        }

        part = new Part(kind, value);
        return true;
    }

    private enum PartKind
    {
        Literal,
        RouteValue,

        /// <summary>The path's catch-all route value: one or more segments.</summary>
        CatchAll,
        Query,
        Header,

        /// <summary>An MCP call's <c>params.arguments</c> member (<c>{args.a.b}</c> reads nested objects).</summary>
        Argument,
    }

    private readonly record struct Part(PartKind Kind, string Value, int Segment = 0)
    {
        public string Display => Kind switch
        {
            PartKind.Query => $"query.{Value}",
            PartKind.Header => $"header.{Value}",
            PartKind.Argument => $"args.{Value}",
            _ => Value,
        };
    }
}

/// <summary>A path's catch-all parameter (<c>{**path}</c>): its name and the index of the segment it starts at.</summary>
public readonly record struct CatchAllParameter(string Name, int Segment);
