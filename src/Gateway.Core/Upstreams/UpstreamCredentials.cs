using System.Collections.Frozen;
using Gateway.Policy;
using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary>
/// The credentials of the policy in force, one per upstream with <c>auth</c>. A reload keeps the instance of every
/// upstream whose <c>auth</c> is unchanged, so its cached tokens survive; the others are made anew and the old
/// ones stopped.
/// </summary>
public sealed class UpstreamCredentials : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TokenEndpointClient _endpoint;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan? _pollInterval;
    private volatile FrozenDictionary<string, UpstreamCredential> _current = FrozenDictionary<string, UpstreamCredential>.Empty;

    /// <param name="tokenClient">For token endpoints; its own handler, not YARP's, so the gateway's calls to an STS never share a pool with the forwarded traffic.</param>
    /// <param name="time">Token lifetimes and secret-file polling.</param>
    /// <param name="logger">Ids and reasons only.</param>
    /// <param name="pollInterval">How often secret files are re-read; default <see cref="SecretFile.DefaultPollInterval"/>.</param>
    public UpstreamCredentials(HttpClient tokenClient, TimeProvider time, ILogger<UpstreamCredentials> logger, TimeSpan? pollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(tokenClient);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _endpoint = new TokenEndpointClient(tokenClient, time);
        _time = time;
        _logger = logger;
        _pollInterval = pollInterval;
    }

    /// <summary>Every credential in force.</summary>
    public IEnumerable<UpstreamCredential> All => _current.Values;

    /// <summary>The credential of <paramref name="upstream"/> in force; null when it has none.</summary>
    public UpstreamCredential? Find(string upstream) => _current.GetValueOrDefault(upstream);

    /// <summary>Makes <paramref name="policy"/>'s credentials the ones in force and returns them by upstream name.</summary>
    public IReadOnlyDictionary<string, UpstreamCredential> Bind(GatewayPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (_lock)
        {
            var previous = _current;
            var next = new Dictionary<string, UpstreamCredential>(StringComparer.Ordinal);
            foreach (var upstream in policy.Upstreams.Values)
            {
                if (upstream.Auth is not { } auth)
                {
                    continue;
                }

                next[upstream.Name] = previous.TryGetValue(upstream.Name, out var existing) && existing.Settings.Equals(auth)
                    ? existing
                    : Create(upstream.Name, auth);
            }

            _current = next.ToFrozenDictionary(StringComparer.Ordinal);
            foreach (var (name, credential) in previous)
            {
                if (!next.TryGetValue(name, out var kept) || !ReferenceEquals(kept, credential))
                {
                    credential.Dispose();
                }
            }

            return _current;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var credential in _current.Values)
            {
                credential.Dispose();
            }

            _current = FrozenDictionary<string, UpstreamCredential>.Empty;
        }
    }

    private UpstreamCredential Create(string upstream, UpstreamAuthSettings auth) => auth switch
    {
        HeaderAuthSettings header => new HeaderCredential(upstream, header, _time, _logger, _pollInterval),
        ClientCredentialsAuthSettings client => new ClientCredentialsCredential(upstream, client, _endpoint, _time, _logger, _pollInterval),
        TokenExchangeAuthSettings exchange => new TokenExchangeCredential(upstream, exchange, _endpoint, _time, _logger, _pollInterval),
        ClientCertificateAuthSettings certificate => new ClientCertificateCredential(upstream, certificate, _time, _logger, _pollInterval),
        _ => throw new ArgumentOutOfRangeException(nameof(auth), auth.Kind, "Unknown credential kind."),
    };
}
