using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Policy;

/// <summary>
/// Lets route templates be written unquoted inside flow mappings, as the contract's own example
/// does: <c>match: { methods: [GET], path: /crm/customers/{customerId} }</c>. Strict YAML
/// forbids '{' and '}' in a plain scalar inside '{ }', so before parsing, the value of a
/// <c>path</c>, <c>resource</c> or <c>describe</c> key that follows '{' or ',' on its line and
/// holds a brace is wrapped in single quotes. Quoted values and block-style keys are untouched,
/// and only columns to the right of the value on that line move.
/// </summary>
internal static partial class FlowTemplateQuoter
{
    public static string Quote(string text)
    {
        if (!text.Contains('{', StringComparison.Ordinal))
        {
            return text;
        }

        StringBuilder? result = null;
        var lineStart = 0;
        while (lineStart <= text.Length)
        {
            var lineEnd = text.IndexOf('\n', lineStart);
            if (lineEnd < 0)
            {
                lineEnd = text.Length;
            }

            var line = text[lineStart..lineEnd];
            var quoted = QuoteLine(line);
            if (!ReferenceEquals(quoted, line) && result is null)
            {
                result = new StringBuilder(text.Length + 16).Append(text, 0, lineStart);
            }

            if (result is not null)
            {
                result.Append(quoted);
                if (lineEnd < text.Length)
                {
                    result.Append('\n');
                }
            }

            lineStart = lineEnd + 1;
        }

        return result?.ToString() ?? text;
    }

    private static string QuoteLine(string line)
    {
        var matches = TemplateKey().Matches(line);
        if (matches.Count == 0)
        {
            return line;
        }

        var builder = new StringBuilder(line.Length + 4);
        var copied = 0;
        foreach (Match match in matches)
        {
            var start = match.Index + match.Length;
            if (start >= line.Length || line[start] is '\'' or '"' || start < copied)
            {
                continue;
            }

            var end = start;
            while (end < line.Length && !char.IsWhiteSpace(line[end]) && line[end] != ',')
            {
                end++;
            }

            // The closing brace of the flow mapping may touch the value: give back the surplus.
            var value = line[start..end];
            while (value.EndsWith('}') && value.Count(c => c == '}') > value.Count(c => c == '{'))
            {
                value = value[..^1];
            }

            if (!value.Contains('{', StringComparison.Ordinal) || value.Contains('\'', StringComparison.Ordinal))
            {
                continue;
            }

            builder.Append(line, copied, start - copied).Append('\'').Append(value).Append('\'');
            copied = start + value.Length;
        }

        if (copied == 0)
        {
            return line;
        }

        return builder.Append(line, copied, line.Length - copied).ToString();
    }

    [GeneratedRegex(@"(?<=[{,]\s*)(?:path|resource|describe):[ \t]+")]
    private static partial Regex TemplateKey();
}
