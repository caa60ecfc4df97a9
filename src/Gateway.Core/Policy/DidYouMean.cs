namespace Gateway.Policy;

/// <summary>Suggests the known word a typo was probably meant to be, for "did you mean" hints.</summary>
internal static class DidYouMean
{
    /// <summary>
    /// The closest candidate by optimal-string-alignment distance (Levenshtein plus adjacent
    /// transpositions, so <c>actoin</c> is one edit from <c>action</c>), compared case-insensitively;
    /// null when nothing is close enough to be a plausible typo.
    /// </summary>
    public static string? Suggest(string input, IEnumerable<string> candidates)
    {
        var folded = input.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(folded, candidate.ToLowerInvariant());
            var allowed = Math.Max(1, Math.Min(folded.Length, candidate.Length) / 3);
            if (distance <= allowed && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary>" (did you mean 'x'?)" or the empty string, ready to append to a message.</summary>
    public static string Hint(string input, IEnumerable<string> candidates, string prefix = "", string suffix = "") =>
        Suggest(input, candidates) is { } suggestion ? $" (did you mean '{prefix}{suggestion}{suffix}'?)" : "";

    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
