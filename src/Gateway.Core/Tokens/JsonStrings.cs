using System.Text.Json;

namespace Gateway.Tokens;

/// <summary>
/// JSON may escape a lone UTF-16 surrogate (<c>"\ud800"</c>): valid JSON, but no valid text, and
/// <see cref="JsonElement.GetString"/> throws on it. Tokens and proofs are checked once, right after parsing, so that
/// such input is refused as malformed instead of failing the request wherever a string is first read.
/// </summary>
internal static class JsonStrings
{
    /// <summary>True when every member name and string value under <paramref name="element"/> reads as text.</summary>
    public static bool AreWellFormed(JsonElement element)
    {
        try
        {
            Read(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    // Recursion is bounded by the documents' MaxDepth (64 for tokens, 8 for proofs).
    private static void Read(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    _ = member.Name;
                    Read(member.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Read(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }
}
