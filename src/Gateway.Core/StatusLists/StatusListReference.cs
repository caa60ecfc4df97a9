namespace Gateway.StatusLists;

/// <summary>
/// A token's <c>status.status_list</c> (draft-ietf-oauth-status-list section 6.2): which entry of which list holds its
/// status. <see cref="Uri"/> is the text as the token carries it (the list's <c>sub</c> must equal it exactly);
/// <see cref="Location"/> is what is fetched.
/// </summary>
public sealed record StatusListReference(string Uri, Uri Location, long Index)
{
    /// <summary>Longest <c>uri</c> accepted; a status list URL is far shorter.</summary>
    public const int MaxUriLength = 2048;

    /// <summary>
    /// True when <see cref="Location"/> lies under one of <paramref name="prefixes"/> (an issuer's <c>status_lists</c>).
    /// Compared on the parsed, normalised form, so dot segments cannot climb out of a prefix; percent-encoded
    /// dots and slashes, which some servers decode into path separators, are refused outright.
    /// </summary>
    public bool IsUnder(IReadOnlyList<Uri> prefixes)
    {
        ArgumentNullException.ThrowIfNull(prefixes);
        if (Uri.Contains("%2e", StringComparison.OrdinalIgnoreCase) || Uri.Contains("%2f", StringComparison.OrdinalIgnoreCase)
            || Uri.Contains("%5c", StringComparison.OrdinalIgnoreCase) || Uri.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var prefix in prefixes)
        {
            if (string.Equals(prefix.Scheme, Location.Scheme, StringComparison.Ordinal)
                && string.Equals(prefix.Authority, Location.Authority, StringComparison.OrdinalIgnoreCase)
                && Location.AbsolutePath.StartsWith(prefix.AbsolutePath, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
