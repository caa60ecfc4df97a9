using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Policy;

/// <summary>
/// A route's <c>resource</c> template (<c>crm:customer/{customerId}</c>), parsed once per policy
/// load into literal and placeholder parts so a request only concatenates.
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
    public IEnumerable<string> RouteValueNames => _parts.Where(p => p.Kind == PartKind.RouteValue).Select(p => p.Value);

    public static bool TryParse(string text, [NotNullWhen(true)] out ResourceTemplate? template, out string? error)
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
            if (!TryParsePlaceholder(name, out var part, out error))
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
        PartKind.RouteValue => request.RouteValues.TryGetValue(part.Value, out var v) ? v as string ?? v?.ToString() : null,
        PartKind.Query => SingleOrNull(request.Query[part.Value]),
        PartKind.Header => SingleOrNull(request.Headers[part.Value]),
        _ => null,
    };

    // Two values for one placeholder are ambiguous (which one did the upstream use?), so refuse.
    private static string? SingleOrNull(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 1 ? values[0] : null;

    private static bool IsSafeSegment(string value)
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

    private static bool TryParsePlaceholder(string name, out Part part, out string? error)
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

        part = new Part(kind, value);
        return true;
    }

    private enum PartKind
    {
        Literal,
        RouteValue,
        Query,
        Header,
    }

    private readonly record struct Part(PartKind Kind, string Value)
    {
        public string Display => Kind switch
        {
            PartKind.Query => $"query.{Value}",
            PartKind.Header => $"header.{Value}",
            _ => Value,
        };
    }
}
