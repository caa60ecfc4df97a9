using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Gateway.Tokens;

/// <summary>
/// An issuer's keys from its <c>jwks_uri</c>, fetched on demand: on first use, when a token names a <c>kid</c>
/// the cached set lacks (key rotation), and when the set is older than <see cref="JwksRefreshOptions.MaxAge"/>.
/// No timer or hosted service: an idle gateway makes no requests. Fetches are single-flight and at most one
/// per <see cref="JwksRefreshOptions.MinRefreshInterval"/>; a failed fetch is logged and the last good keys
/// keep serving.
/// </summary>
public sealed partial class HttpJwksSource : IJwksSource
{
    private readonly string _issuer;
    private readonly Uri _jwksUri;
    private readonly HttpClient _httpClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly JwksRefreshOptions _options;
    private readonly Lock _gate = new();

    private volatile Snapshot? _snapshot;
    private Task? _inflight;
    private DateTimeOffset? _lastAttempt;

    public HttpJwksSource(string issuer, Uri jwksUri, HttpClient httpClient, TimeProvider timeProvider, ILogger<HttpJwksSource> logger, JwksRefreshOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        ArgumentNullException.ThrowIfNull(jwksUri);
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _issuer = issuer;
        _jwksUri = jwksUri;
        _httpClient = httpClient;
        _timeProvider = timeProvider;
        _logger = logger;
        _options = options ?? new JwksRefreshOptions();
    }

    /// <summary>The keys as last fetched successfully, or null before the first success.</summary>
    public IssuerKeySet? Keys => _snapshot?.Keys;

    public ValueTask<KeyLookup> FindKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is not null)
        {
            if (_timeProvider.GetUtcNow() - snapshot.FetchedAt >= _options.MaxAge)
            {
                // Stale but usable: refresh behind the request rather than make it wait on the identity provider.
                _ = StartRefresh();
            }

            if (snapshot.Keys.TryGetKey(keyId, out var key))
            {
                return ValueTask.FromResult(KeyLookup.Found(key));
            }
        }

        return FindAfterRefreshAsync(keyId, cancellationToken);
    }

    /// <summary>Fetches now unless a fetch is running or ran within the minimum interval; for warm-up at startup.</summary>
    public Task RefreshAsync(CancellationToken cancellationToken) => (StartRefresh() ?? Task.CompletedTask).WaitAsync(cancellationToken);

    private async ValueTask<KeyLookup> FindAfterRefreshAsync(string keyId, CancellationToken cancellationToken)
    {
        if (StartRefresh() is { } refresh)
        {
            await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var snapshot = _snapshot;
        if (snapshot is null)
        {
            return KeyLookup.Unavailable;
        }

        return snapshot.Keys.TryGetKey(keyId, out var key) ? KeyLookup.Found(key) : KeyLookup.Unknown;
    }

    /// <summary>The running fetch, a new one, or null when the last attempt was too recent.</summary>
    private Task? StartRefresh()
    {
        lock (_gate)
        {
            if (_inflight is { IsCompleted: false })
            {
                return _inflight;
            }

            var now = _timeProvider.GetUtcNow();
            if (_lastAttempt is { } last && now - last < _options.MinRefreshInterval)
            {
                return null;
            }

            // Counted from the attempt, not the success, so an identity provider that is down is not hammered either.
            _lastAttempt = now;
            _inflight = Task.Run(FetchAsync);
            return _inflight;
        }
    }

    // Never throws: callers may not observe the task (background refresh of stale keys).
    private async Task FetchAsync()
    {
        using var timeout = new CancellationTokenSource(_options.FetchTimeout, _timeProvider);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _jwksUri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/jwk-set+json"));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await _httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LogFetchStatus(_logger, _issuer, _jwksUri, (int)response.StatusCode);
                return;
            }

            var body = await ReadLimitedAsync(response.Content, timeout.Token).ConfigureAwait(false);
            if (body is null)
            {
                LogFetchTooLarge(_logger, _issuer, _jwksUri, _options.MaxResponseBytes);
                return;
            }

            var keys = IssuerKeySet.Parse(body, out var skipped);
            foreach (var problem in skipped)
            {
                LogKeySkipped(_logger, _issuer, _jwksUri, problem);
            }

            if (keys.Count == 0)
            {
                LogNoUsableKeys(_logger, _issuer, _jwksUri);
                return;
            }

            _snapshot = new Snapshot(keys, _timeProvider.GetUtcNow());
            LogFetched(_logger, _issuer, _jwksUri, keys.Count);
        }
#pragma warning disable CA1031 // Any failure (network, TLS, timeout, bad JSON) means "keep the last good keys"; nothing may escape a background task.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFetchFailed(_logger, _issuer, _jwksUri, e);
        }
    }

    private async Task<byte[]?> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > _options.MaxResponseBytes)
        {
            return null;
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > _options.MaxResponseBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    private sealed record Snapshot(IssuerKeySet Keys, DateTimeOffset FetchedAt);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information, Message = "Issuer {Issuer}: fetched {KeyCount} signing keys from {JwksUri}")]
    private static partial void LogFetched(ILogger logger, string issuer, Uri jwksUri, int keyCount);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Issuer {Issuer}: fetching {JwksUri} failed; the last good keys (if any) stay in use")]
    private static partial void LogFetchFailed(ILogger logger, string issuer, Uri jwksUri, Exception exception);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Warning, Message = "Issuer {Issuer}: {JwksUri} answered {StatusCode}; the last good keys (if any) stay in use")]
    private static partial void LogFetchStatus(ILogger logger, string issuer, Uri jwksUri, int statusCode);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Warning, Message = "Issuer {Issuer}: {JwksUri} sent more than {MaxBytes} bytes; ignored")]
    private static partial void LogFetchTooLarge(ILogger logger, string issuer, Uri jwksUri, int maxBytes);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Warning, Message = "Issuer {Issuer}: {JwksUri}: {Problem}")]
    private static partial void LogKeySkipped(ILogger logger, string issuer, Uri jwksUri, string problem);

    [LoggerMessage(EventId = 1116, Level = LogLevel.Warning, Message = "Issuer {Issuer}: {JwksUri} has no usable signing key; the last good keys (if any) stay in use")]
    private static partial void LogNoUsableKeys(ILogger logger, string issuer, Uri jwksUri);
}
