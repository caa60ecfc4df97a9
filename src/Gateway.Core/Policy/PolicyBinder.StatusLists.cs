namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    /// <summary>Bounds on a single status list: below this it is not a list, above it the gateway will not hold it.</summary>
    private const int MinStatusListBytes = 16;
    private const int MaxStatusListBytes = 64 * 1024 * 1024;

    /// <summary>The optional <c>status_list_cache</c> section: <c>max_ttl</c>, <c>max_bytes</c>, <c>fetch_timeout</c>.</summary>
    private StatusListCacheSettings BindStatusListCache()
    {
        var defaults = new StatusListCacheSettings();
        var section = OpenSection("status_list_cache", ["max_ttl", "max_bytes", "fetch_timeout"]);
        if (section is null)
        {
            return defaults;
        }

        var maxTtl = section.Duration("max_ttl");
        var fetchTimeout = section.Duration("fetch_timeout");
        var maxBytes = section.Int("max_bytes", MinStatusListBytes);
        if (maxBytes > MaxStatusListBytes && section.Scalar("max_bytes") is { } bytesNode)
        {
            section.File.Error(bytesNode, $"'max_bytes' in section 'status_list_cache' must be at most {MaxStatusListBytes} (64 MiB), found {maxBytes}: every list is held in memory, decompressed");
        }

        if (maxTtl < TimeSpan.FromSeconds(1) && section.Scalar("max_ttl") is { } ttlNode)
        {
            section.File.Error(ttlNode, $"'max_ttl' in section 'status_list_cache' must be at least 1s, found '{ttlNode.Value}': lists are refreshed in the background once a second at most");
        }

        if (fetchTimeout > TimeSpan.FromMinutes(1) && section.Scalar("fetch_timeout") is { } timeoutNode)
        {
            section.File.Error(timeoutNode, $"'fetch_timeout' in section 'status_list_cache' must be at most 1m, found '{timeoutNode.Value}': the first call naming a list waits for it");
        }

        return new StatusListCacheSettings
        {
            MaxTtl = maxTtl ?? defaults.MaxTtl,
            MaxBytes = maxBytes ?? defaults.MaxBytes,
            FetchTimeout = fetchTimeout ?? defaults.FetchTimeout,
        };
    }
}
