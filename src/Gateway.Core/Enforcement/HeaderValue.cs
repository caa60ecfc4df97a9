namespace Gateway.Enforcement;

/// <summary>Header-safe rendering of claim values forwarded upstream.</summary>
internal static class HeaderValue
{
    /// <summary>
    /// Returns <paramref name="value"/> unchanged when it is visible ASCII (the common case, no
    /// allocation); otherwise percent-encodes it as UTF-8, since HTTP clients refuse non-ASCII and
    /// control characters in header values and a claim must never split a header.
    /// </summary>
    public static string Encode(string value)
    {
        foreach (var c in value)
        {
            if (c is < (char)0x20 or > (char)0x7E or '%')
            {
                return Uri.EscapeDataString(value);
            }
        }

        return value;
    }
}
