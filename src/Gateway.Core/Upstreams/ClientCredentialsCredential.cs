using Gateway.Policy;
using Gateway.Telemetry;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary><c>auth.oauth2_client_credentials</c>: one access token for the gateway itself, shared by every allowed call.</summary>
internal sealed partial class ClientCredentialsCredential : UpstreamCredential
{
    private readonly ClientCredentialsAuthSettings _settings;
    private readonly SecretFile _secret;
    private readonly TokenEndpointClient _endpoint;
    private readonly TokenCache _cache;
    private readonly ILogger _logger;
    private readonly Func<Task<CachedToken>> _fetch;
    private readonly Action _hit;

    public ClientCredentialsCredential(string upstream, ClientCredentialsAuthSettings settings, TokenEndpointClient endpoint, TimeProvider time, ILogger logger, TimeSpan? pollInterval)
        : base(upstream, settings)
    {
        _settings = settings;
        _endpoint = endpoint;
        _logger = logger;
        _secret = new SecretFile(settings.ClientSecretFile, upstream, time, logger, pollInterval);
        _cache = new TokenCache(time);
        _fetch = FetchAsync;
        _hit = () => GatewayTelemetry.RecordCredentialCacheHit(Upstream, Kind);
    }

    public override string Id => _settings.ClientId;

    public override string? Problem => _secret.Problem;

    public override ValueTask<CredentialResult> GetAsync(CapabilityToken? token, CancellationToken cancellationToken) =>
        _cache.GetAsync(_fetch, _hit, cancellationToken);

    private async Task<CachedToken> FetchAsync()
    {
        var secret = _secret.Value ?? throw new TokenEndpointException(_secret.Problem ?? "the client secret cannot be read");
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (_settings.Scope is { } scope)
        {
            form.Add(new("scope", scope));
        }

        if (_settings.Audience is { } audience)
        {
            form.Add(new("audience", audience));
        }

        if (_settings.Resource is { } resource)
        {
            form.Add(new("resource", resource));
        }

        try
        {
            var token = await _endpoint.RequestAsync(_settings.TokenUrl, _settings.ClientId, secret, form);
            GatewayTelemetry.RecordCredentialFetch(Upstream, Kind, success: true);
            LogFetched(_logger, Upstream, _settings.ClientId, token.UsableUntil);
            return token;
        }
        catch (TokenEndpointException e)
        {
            GatewayTelemetry.RecordCredentialFetch(Upstream, Kind, success: false);
            LogFetchFailed(_logger, Upstream, _settings.ClientId, e.Message);
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _secret.Dispose();
        }

        base.Dispose(disposing);
    }

    [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "Upstream {Upstream}: access token for client {ClientId} fetched, used until {UsableUntil}")]
    private static partial void LogFetched(ILogger logger, string upstream, string clientId, DateTimeOffset usableUntil);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Warning, Message = "Upstream {Upstream}: no access token for client {ClientId}: {Reason}")]
    private static partial void LogFetchFailed(ILogger logger, string upstream, string clientId, string reason);
}
