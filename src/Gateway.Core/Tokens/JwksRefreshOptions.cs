using System.ComponentModel.DataAnnotations;

namespace Gateway.Tokens;

/// <summary>How a <c>jwks_uri</c> is fetched and cached.</summary>
public sealed record JwksRefreshOptions
{
    /// <summary>
    /// Fetches per issuer are at least this far apart, whatever triggers them. Default 30 seconds. Stops a flood of
    /// tokens with made-up <c>kid</c>s from turning the gateway into a load generator against the identity provider.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MinRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Keys older than this are refetched on next use, in the background, while the old ones keep serving. Default 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(1);

    /// <summary>One fetch may take this long. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:01:00")]
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A larger JWKS response is refused. Default 1 MiB.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxResponseBytes { get; init; } = 1024 * 1024;
}
