using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Gateway.Policy;
using Gateway.Telemetry;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary>
/// <c>auth.token_exchange</c> (RFC 8693): for each (user, agent) an upstream token naming that user, got by
/// exchanging a short-lived assertion the gateway signs (<c>sub</c> = the call's user, <c>act.sub</c> = its agent).
/// Tokens are cached per (user, agent), never shared between them: a token is only ever presented on calls of the
/// pair it was issued for.
/// </summary>
internal sealed partial class TokenExchangeCredential : UpstreamCredential
{
    public const string GrantType = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string JwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    /// <summary>Lifetime of the signed assertion: it is used at once, so a minute covers any clock skew.</summary>
    public static readonly TimeSpan AssertionLifetime = TimeSpan.FromMinutes(1);

    /// <summary>Most (user, agent) pairs cached at once. Past it, pairs with nothing usable cached are dropped.</summary>
    public const int MaxEntries = 10_000;

    private readonly TokenExchangeAuthSettings _settings;
    private readonly SecretFile _secret;
    private readonly SecretFile _signingKeyFile;
    private readonly TokenEndpointClient _endpoint;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Subject, string Agent), TokenCache> _caches = new();
    private readonly Action _hit;
    private volatile SigningKeyState _key;

    public TokenExchangeCredential(string upstream, TokenExchangeAuthSettings settings, TokenEndpointClient endpoint, TimeProvider time, ILogger logger, TimeSpan? pollInterval)
        : base(upstream, settings)
    {
        _settings = settings;
        _endpoint = endpoint;
        _time = time;
        _logger = logger;
        _secret = new SecretFile(settings.ClientSecretFile, upstream, time, logger, pollInterval);
        _signingKeyFile = new SecretFile(settings.SigningKeyFile, upstream, time, logger, pollInterval);
        _key = LoadKey();
        _signingKeyFile.Changed += () => _key = LoadKey();
        _hit = () => GatewayTelemetry.RecordCredentialCacheHit(Upstream, Kind);
    }

    public override string Id => _settings.ClientId;

    public override string? Problem => _secret.Problem ?? _key.Problem;

    public override ValueTask<CredentialResult> GetAsync(CapabilityToken? token, CancellationToken cancellationToken)
    {
        if (token is null)
        {
            return ValueTask.FromResult(CredentialResult.Unavailable("token exchange needs the call's user, and this call has no valid token", TokenCache.FailureBackoff));
        }

        var key = (token.Subject, token.Agent);
        if (!_caches.TryGetValue(key, out var cache))
        {
            if (_caches.Count >= MaxEntries)
            {
                Sweep();
            }

            cache = _caches.GetOrAdd(key, static (_, time) => new TokenCache(time), _time);
        }

        var subject = token.Subject;
        var agent = token.Agent;
        return cache.GetAsync(() => FetchAsync(subject, agent), _hit, cancellationToken);
    }

    private void Sweep()
    {
        foreach (var (key, cache) in _caches)
        {
            if (cache.IsIdle)
            {
                _caches.TryRemove(key, out _);
            }
        }
    }

    private async Task<CachedToken> FetchAsync(string subject, string agent)
    {
        var secret = _secret.Value ?? throw new TokenEndpointException(_secret.Problem ?? "the client secret cannot be read");
        var key = _key.Key ?? throw new TokenEndpointException(_key.Problem ?? "the assertion signing key cannot be read");
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", GrantType),
            new("subject_token", Assertion(key, subject, agent)),
            new("subject_token_type", JwtTokenType),
            new("requested_token_type", AccessTokenType),
            new("audience", _settings.Audience),
        };
        if (_settings.Scope is { } scope)
        {
            form.Add(new("scope", scope));
        }

        try
        {
            var token = await _endpoint.RequestAsync(_settings.TokenUrl, _settings.ClientId, secret, form);
            GatewayTelemetry.RecordCredentialFetch(Upstream, Kind, success: true);
            return token;
        }
        catch (TokenEndpointException e)
        {
            GatewayTelemetry.RecordCredentialFetch(Upstream, Kind, success: false);
            LogExchangeFailed(_logger, Upstream, _settings.ClientId, e.Message);
            throw;
        }
    }

    /// <summary>
    /// The subject token: a JWT from the gateway's issuer for the token endpoint (<c>aud</c>), naming the user as
    /// <c>sub</c> and the agent as the actor (RFC 8693 section 4.1), valid for a minute.
    /// </summary>
    private string Assertion(SigningKey key, string subject, string agent)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var header = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteString("alg", key.Algorithm);
            json.WriteString("kid", key.KeyId);
            json.WriteString("typ", "JWT");
            json.WriteEndObject();
        }

        var payload = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteString("iss", _settings.Issuer);
            json.WriteString("sub", subject);
            json.WriteStartObject("act");
            json.WriteString("sub", agent);
            json.WriteEndObject();
            json.WriteString("aud", _settings.TokenUrl.ToString());
            json.WriteNumber("iat", now);
            json.WriteNumber("exp", now + (long)AssertionLifetime.TotalSeconds);
            json.WriteString("jti", TokenMinter.NewJti());
            json.WriteEndObject();
        }

        return JwsWriter.Sign(header.WrittenSpan, payload.WrittenSpan, key.SecurityKey, key.Algorithm);
    }

    private SigningKeyState LoadKey()
    {
        if (_signingKeyFile.Value is not { } jwk)
        {
            return new SigningKeyState(null, _signingKeyFile.Problem);
        }

        try
        {
            // A key replaced by rotation is left to the collector: a request may be signing with it right now.
            return new SigningKeyState(SigningKey.FromJwk(jwk), null);
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            var problem = $"signing key file '{_signingKeyFile.Name}' is not a private JWK";
            if (_key?.Key is not null)
            {
                SecretFile.LogUnusable(_logger, Upstream, problem);
                return _key;
            }

            return new SigningKeyState(null, problem);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _secret.Dispose();
            _signingKeyFile.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed record SigningKeyState(SigningKey? Key, string? Problem);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Upstream {Upstream}: token exchange for client {ClientId} failed: {Reason}")]
    private static partial void LogExchangeFailed(ILogger logger, string upstream, string clientId, string reason);
}
