using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Gateway.Approvals;

/// <summary>
/// The part of a request body an approver may see: JSON or form fields, with the values of configured
/// names replaced by <see cref="Redacted"/> at any depth, cut to a size. Other content types get no
/// preview at all: a secret in free text or binary cannot be found to redact, so only its digest is shown.
/// </summary>
public sealed class BodyPreview
{
    public const string Redacted = "[redacted]";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64 };

    private readonly HashSet<string> _redact;
    private readonly int _maxChars;

    /// <param name="redact">Field names to redact; compared without case, '_' or '-', so card_number also hides cardNumber.</param>
    /// <param name="maxChars">Longest preview kept; 0 keeps none.</param>
    public BodyPreview(IEnumerable<string> redact, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(redact);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChars);
        _redact = new HashSet<string>(redact.Select(Normalize), StringComparer.Ordinal);
        _maxChars = maxChars;
    }

    public (string? Text, bool Truncated) Render(ReadOnlySpan<byte> body, string? contentType)
    {
        if (_maxChars == 0 || body.IsEmpty || !MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return (null, false);
        }

        var type = media.MediaType.Value ?? "";
        string? text;
        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            text = RenderJson(body);
        }
        else if (type.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            text = RenderForm(body);
        }
        else
        {
            return (null, false);
        }

        if (text is null)
        {
            return (null, false);
        }

        return text.Length <= _maxChars ? (text, false) : (text[.._maxChars], true);
    }

    private string? RenderJson(ReadOnlySpan<byte> body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body, documentOptions: ParseOptions);
        }
        catch (JsonException)
        {
            // Not JSON after all: nothing can be redacted reliably, so nothing is shown.
            return null;
        }

        RedactIn(root);
        return root?.ToJsonString(Indented) ?? "null";
    }

    private void RedactIn(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    if (_redact.Contains(Normalize(name)))
                    {
                        obj[name] = Redacted;
                    }
                    else
                    {
                        RedactIn(obj[name]);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    RedactIn(item);
                }

                break;
        }
    }

    private string RenderForm(ReadOnlySpan<byte> body)
    {
        var fields = QueryHelpers.ParseQuery("?" + Encoding.UTF8.GetString(body));
        var text = new StringBuilder();
        foreach (var (name, values) in fields)
        {
            foreach (var value in values)
            {
                text.Append(name).Append(" = ").Append(_redact.Contains(Normalize(name)) ? Redacted : value).Append('\n');
            }
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string Normalize(string name)
    {
        var normalized = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (c is not ('_' or '-'))
            {
                normalized.Append(char.ToLowerInvariant(c));
            }
        }

        return normalized.ToString();
    }
}
