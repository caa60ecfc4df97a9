using System.Collections.Frozen;
using Gateway.Policy;
using Microsoft.Extensions.Logging;

namespace Gateway.Tokens;

/// <summary>
/// One <see cref="IJwksSource"/> per configured issuer. Keys are looked up only in the token's own issuer's
/// source, so a key of issuer A can never validate a token claiming issuer B, even with the same <c>kid</c>.
/// </summary>
public sealed class IssuerKeyResolver : ISigningKeyResolver
{
    private readonly FrozenDictionary<string, IJwksSource> _sources;

    public IssuerKeyResolver(IReadOnlyDictionary<string, IJwksSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = sources.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>
    /// Builds the sources for <paramref name="issuers"/>: <c>jwks_file</c> is read now (and throws when unusable),
    /// <c>jwks_uri</c> is fetched on first use with <paramref name="httpClient"/>.
    /// </summary>
    public static IssuerKeyResolver Create(
        IEnumerable<IssuerSettings> issuers,
        HttpClient? httpClient,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        JwksRefreshOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(issuers);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var sources = new Dictionary<string, IJwksSource>(StringComparer.Ordinal);
        foreach (var issuer in issuers)
        {
            IJwksSource source;
            if (issuer.JwksFile is { } file)
            {
                source = StaticJwksSource.FromFile(issuer.Issuer, file, loggerFactory.CreateLogger<StaticJwksSource>());
            }
            else if (issuer.JwksUri is { } uri)
            {
                source = new HttpJwksSource(
                    issuer.Issuer,
                    uri,
                    httpClient ?? throw new ArgumentException($"Issuer '{issuer.Issuer}' uses jwks_uri, which needs an HttpClient.", nameof(httpClient)),
                    timeProvider,
                    loggerFactory.CreateLogger<HttpJwksSource>(),
                    options);
            }
            else
            {
                throw new ArgumentException($"Issuer '{issuer.Issuer}' has neither jwks_file nor jwks_uri.", nameof(issuers));
            }

            if (!sources.TryAdd(issuer.Issuer, source))
            {
                throw new ArgumentException($"Issuer '{issuer.Issuer}' is configured twice.", nameof(issuers));
            }
        }

        return new IssuerKeyResolver(sources);
    }

    public ValueTask<KeyLookup> FindKeyAsync(string issuer, string keyId, CancellationToken cancellationToken) =>
        _sources.TryGetValue(issuer, out var source)
            ? source.FindKeyAsync(keyId, cancellationToken)
            : ValueTask.FromResult(KeyLookup.Unavailable);
}
