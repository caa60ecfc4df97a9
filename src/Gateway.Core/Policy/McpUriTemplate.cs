using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Gateway.Policy;

/// <summary>
/// An MCP resource URI template of simple variables (RFC 6570 level 1: <c>support://kb/{slug}</c>), matched against
/// a <c>resources/read</c> URI. A variable matches one or more characters other than <c>/</c>, <c>?</c> and <c>#</c>,
/// so a value can never reach into another part of the URI than the one the policy names.
/// </summary>
public sealed class McpUriTemplate
{
    private readonly (bool IsVariable, string Text)[] _parts;

    private McpUriTemplate(string text, (bool, string)[] parts)
    {
        Text = text;
        _parts = parts;
    }

    public string Text { get; }

    /// <summary>The variables' names, in order.</summary>
    public IEnumerable<string> Variables => _parts.Where(p => p.IsVariable).Select(p => p.Text);

    public static bool TryParse(string text, [NotNullWhen(true)] out McpUriTemplate? template, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        template = null;
        var parts = new List<(bool, string)>();
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
            if (name.Length == 0 || !name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_'))
            {
                error = $"'{{{name}}}' is not a simple variable: write {{name}} with letters, digits and '_' (operators such as + and # are not supported)";
                return false;
            }

            if (literal.Length == 0 && parts.Count > 0)
            {
                error = $"'{{{name}}}' follows another variable directly, so the URI could not tell where one ends";
                return false;
            }

            if (parts.Exists(p => p.Item1 && p.Item2 == name))
            {
                error = $"variable '{{{name}}}' appears twice";
                return false;
            }

            if (literal.Length > 0)
            {
                parts.Add((false, literal.ToString()));
                literal.Clear();
            }

            parts.Add((true, name));
            i = end;
        }

        if (literal.Length > 0)
        {
            parts.Add((false, literal.ToString()));
        }

        template = new McpUriTemplate(text, [.. parts]);
        error = null;
        return true;
    }

    /// <summary>True when <paramref name="uri"/> has this template's shape; <paramref name="variables"/> then holds each variable's value.</summary>
    public bool TryMatch(string uri, [NotNullWhen(true)] out Dictionary<string, string>? variables)
    {
        ArgumentNullException.ThrowIfNull(uri);
        variables = null;
        var at = 0;
        Dictionary<string, string>? values = null;
        for (var i = 0; i < _parts.Length; i++)
        {
            var (isVariable, text) = _parts[i];
            if (!isVariable)
            {
                if (!uri.AsSpan(at).StartsWith(text, StringComparison.Ordinal))
                {
                    return false;
                }

                at += text.Length;
                continue;
            }

            // The value runs to the next literal (the parser put one between any two variables) or to the end.
            var end = i + 1 < _parts.Length ? uri.IndexOf(_parts[i + 1].Text, at, StringComparison.Ordinal) : uri.Length;
            if (end <= at)
            {
                return false;
            }

            var value = uri[at..end];
            if (value.AsSpan().IndexOfAny('/', '?', '#') >= 0)
            {
                return false;
            }

            (values ??= new Dictionary<string, string>(StringComparer.Ordinal))[text] = value;
            at = end;
        }

        if (at != uri.Length)
        {
            return false;
        }

        variables = values ?? [];
        return true;
    }

    public override string ToString() => Text;
}
