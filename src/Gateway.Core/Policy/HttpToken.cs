namespace Gateway.Policy;

/// <summary>RFC 9110 <c>token</c>: the shape of HTTP method and header names.</summary>
internal static class HttpToken
{
    public static bool IsValid(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~'))
            {
                return false;
            }
        }

        return true;
    }
}
