namespace Gateway.Tokens;

/// <summary>Decides whether a token grants one concrete action on one concrete resource.</summary>
public static class ScopeEvaluator
{
    /// <summary>
    /// In scope only when ONE grant entry covers both: an action from one entry and a resource
    /// from another must not combine into a permission nobody granted.
    /// </summary>
    public static bool IsInScope(CapabilityToken token, string action, string resource) => FindGrant(token, action, resource) is not null;

    /// <summary>
    /// The first grant entry that covers both, or null: the same search as <see cref="IsInScope"/>, which the audit
    /// event names by <see cref="CapabilityGrant.Index"/> so an analyst sees which entry was used.
    /// </summary>
    public static CapabilityGrant? FindGrant(CapabilityToken token, string action, string resource)
    {
        ArgumentNullException.ThrowIfNull(token);

        // Indexed, not foreach: enumerating an IReadOnlyList allocates an enumerator on every request.
        var grants = token.Grants;
        for (var i = 0; i < grants.Count; i++)
        {
            var grant = grants[i];
            if (AnyMatches(grant.Actions, action) && AnyMatches(grant.Resources, resource))
            {
                return grant;
            }
        }

        return null;
    }

    private static bool AnyMatches(IReadOnlyList<ActionPattern> patterns, string action)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (patterns[i].Matches(action))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyMatches(IReadOnlyList<ResourcePattern> patterns, string resource)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (patterns[i].Matches(resource))
            {
                return true;
            }
        }

        return false;
    }
}
