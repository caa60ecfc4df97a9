namespace Gateway.Upstreams;

/// <summary>An access token and when it must be renewed, as <see cref="TokenCache"/> holds it.</summary>
internal sealed record CachedToken(string HeaderValue, DateTimeOffset RefreshAt, DateTimeOffset UsableUntil)
{
    /// <summary>
    /// Renewed ahead of time once three quarters of its life is gone (at most 5 minutes before expiry), and not
    /// used in its last tenth (at most 30 seconds), so that a token is never presented as it expires in flight.
    /// </summary>
    public static CachedToken Create(string headerValue, DateTimeOffset issued, TimeSpan lifetime)
    {
        var expires = issued + lifetime;
        var refreshLead = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, lifetime.Ticks / 4));
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, lifetime.Ticks / 10));
        return new CachedToken(headerValue, expires - refreshLead, expires - margin);
    }
}

/// <summary>
/// One cached token with single flight: however many calls find it missing or stale at once, one request goes to
/// the token endpoint and they all wait for it. A still-usable token is served while its replacement is fetched
/// in the background. After a failed fetch, calls are refused at once for <see cref="FailureBackoff"/> instead of
/// each trying again, so a token endpoint that is down is not hammered by the traffic it cannot serve.
/// </summary>
internal sealed class TokenCache
{
    /// <summary>How long a failed fetch is remembered. Default 1 second.</summary>
    public static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private volatile CachedToken? _token;
    private Task<CachedToken>? _inflight;
    private volatile Failure? _failure;

    public TokenCache(TimeProvider time) => _time = time;

    /// <summary>True when nothing is cached and no fetch is running, so the entry may be dropped.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return _inflight is null && (_token is null || _time.GetUtcNow() >= _token.UsableUntil);
            }
        }
    }

    /// <param name="fetch">Fetches a new token; runs at most once at a time, never with a caller's cancellation.</param>
    /// <param name="hit">Called when the call was served from the cache.</param>
    /// <param name="cancellationToken">Stops this caller's wait, not the fetch others may wait for.</param>
    public ValueTask<CredentialResult> GetAsync(Func<Task<CachedToken>> fetch, Action hit, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var token = _token;
        if (token is not null && now < token.UsableUntil)
        {
            if (now >= token.RefreshAt && !InBackoff(now, out _))
            {
                _ = Start(fetch);
            }

            hit();
            return ValueTask.FromResult(CredentialResult.Header("Authorization", token.HeaderValue));
        }

        if (InBackoff(now, out var failure))
        {
            return ValueTask.FromResult(failure);
        }

        return WaitAsync(Start(fetch), cancellationToken);
    }

    private static async ValueTask<CredentialResult> WaitAsync(Task<CachedToken> fetching, CancellationToken cancellationToken)
    {
        try
        {
            var token = await fetching.WaitAsync(cancellationToken);
            return CredentialResult.Header("Authorization", token.HeaderValue);
        }
        catch (TokenEndpointException e)
        {
            return CredentialResult.Unavailable(e.Message, FailureBackoff);
        }
    }

    private bool InBackoff(DateTimeOffset now, out CredentialResult failure)
    {
        var f = _failure;
        if (f is not null && now < f.Until)
        {
            failure = CredentialResult.Unavailable(f.Reason, f.Until - now);
            return true;
        }

        failure = default;
        return false;
    }

    private Task<CachedToken> Start(Func<Task<CachedToken>> fetch)
    {
        lock (_lock)
        {
            return _inflight ??= RunAsync(fetch);
        }
    }

    private async Task<CachedToken> RunAsync(Func<Task<CachedToken>> fetch)
    {
        // Out of the lock before the fetch starts, and so that _inflight is set before it can be cleared.
        await Task.Yield();
        try
        {
            var token = await fetch();
            _token = token;
            _failure = null;
            return token;
        }
        catch (TokenEndpointException e)
        {
            _failure = new Failure(_time.GetUtcNow() + FailureBackoff, e.Message);
            throw;
        }
        finally
        {
            lock (_lock)
            {
                _inflight = null;
            }
        }
    }

    private sealed record Failure(DateTimeOffset Until, string Reason);
}
