using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.StatusLists;

/// <summary>
/// The Token Status Lists that tokens point at, fetched from their <c>uri</c>, verified, and kept for their
/// <c>ttl</c> (at most <c>status_list_cache.max_ttl</c>). A check against a list in memory does no I/O: a dictionary
/// lookup and a bit read. A timer refreshes each list in use before it expires; a failed refresh keeps the last
/// good list until it expires, then the list is unavailable and <c>gateway.on_store_failure</c> decides. Only the
/// first call naming a list (or one after the list expired unrefreshed) waits for a fetch, single-flight.
/// </summary>
public sealed partial class StatusListCache : IDisposable
{
    /// <summary>Lists in memory at most: each names a URL under an issuer's <c>status_lists</c>, so this bounds only a misbehaving issuer.</summary>
    public const int MaxLists = 1024;

    /// <summary>Shortest time a list is kept: a list with a <c>ttl</c> below it would make the gateway poll its server in a loop.</summary>
    public static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(1);

    /// <summary>After a failed fetch, calls get the failure without a new fetch for this long.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>Default tick of the refresh timer.</summary>
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<(string Issuer, string Uri), Entry> _entries = new();
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;

    public StatusListCache(HttpClient http, TimeProvider time, ILogger<StatusListCache> logger, TimeSpan? refreshInterval = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _http = http;
        _time = time;
        _logger = logger;
        var interval = refreshInterval ?? DefaultRefreshInterval;
        _timer = time.CreateTimer(static state => ((StatusListCache)state!).Tick(), this, interval, interval);
    }

    /// <summary>Lists currently held.</summary>
    public int Count => _entries.Count;

    /// <summary>Raised after each fetch attempt, with the list's URL and whether it produced a usable list (tests, metrics).</summary>
    public event Action<string, bool>? Fetched;

    /// <summary>
    /// The status of <paramref name="token"/>'s entry in its list. <paramref name="snapshot"/> is the policy that
    /// validated the token: its issuer's keys verify the list, its <c>status_list_cache</c> bounds it.
    /// </summary>
    public ValueTask<StatusCheck> CheckAsync(CapabilityToken token, PolicySnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(snapshot);
        if (token.StatusList is not { } reference || IsOwnList(token, reference, snapshot.Policy))
        {
            return new(StatusCheck.Valid);
        }

        var now = _time.GetUtcNow();
        if (!_entries.TryGetValue((token.Issuer, reference.Uri), out var entry))
        {
            if (_entries.Count >= MaxLists)
            {
                return new(Unavailable(reference, $"the gateway already holds {MaxLists} status lists"));
            }

            entry = _entries.GetOrAdd((token.Issuer, reference.Uri), static (key, reference) => new Entry(key.Issuer, reference), reference);
        }

        entry.Touch(snapshot, now);
        var loaded = entry.Current;
        return loaded is not null && now < loaded.ExpiresAt
            ? new(Judge(loaded.List, reference))
            : CheckAfterFetchAsync(entry, reference, now, cancellationToken);
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>
    /// A child this gateway minted, pointing at the list it publishes: that list is made from this gateway's own
    /// revocations, which check 3 has just read from the revocation index, fresher than any copy of the list.
    /// </summary>
    private static bool IsOwnList(CapabilityToken token, StatusListReference reference, GatewayPolicy policy) =>
        policy.Delegation is { StatusList: { } own } delegation
        && string.Equals(token.Issuer, delegation.Issuer, StringComparison.Ordinal)
        && string.Equals(reference.Uri, own.Uri.AbsoluteUri, StringComparison.Ordinal);

    private async ValueTask<StatusCheck> CheckAfterFetchAsync(Entry entry, StatusListReference reference, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A list server that is down must not be asked again by every call: the last failure answers for a second.
        if (entry.LastFailure is not { } failure || now - failure.At >= RetryInterval)
        {
            await Refresh(entry).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var loaded = entry.Current;
        if (loaded is not null && _time.GetUtcNow() < loaded.ExpiresAt)
        {
            return Judge(loaded.List, reference);
        }

        return Unavailable(reference, entry.LastFailure?.Problem ?? "it has not been fetched yet");
    }

    private static StatusCheck Judge(StatusList list, StatusListReference reference)
    {
        if (!list.TryGetStatus(reference.Index, out var status))
        {
            return new StatusCheck(StatusOutcome.OutOfRange,
                $"The token's status list entry {reference.Index} is beyond the end of its list ({list.Count} entries); the token cannot be checked, so it is refused.");
        }

        return status == StatusList.Valid
            ? StatusCheck.Valid
            : new StatusCheck(StatusOutcome.Revoked, $"The token's issuer has revoked it: its status list entry {reference.Index} is {Describe(status)}.");
    }

    private static string Describe(byte status) => status switch
    {
        0x01 => "INVALID",
        0x02 => "SUSPENDED",
        _ => $"0x{status:X2}",
    };

    private static StatusCheck Unavailable(StatusListReference reference, string problem) =>
        new(StatusOutcome.Unavailable, $"The token's status list at {reference.Location.GetLeftPart(UriPartial.Path)} is not usable ({problem}), so the gateway cannot tell whether the token was revoked.");

    private Task Refresh(Entry entry)
    {
        lock (entry)
        {
            if (entry.Inflight is { IsCompleted: false } running)
            {
                return running;
            }

            // Run on the thread pool: the caller may be a request, and the fetch must outlive its cancellation.
            entry.Inflight = Task.Run(() => FetchAsync(entry));
            return entry.Inflight;
        }
    }

    private async Task FetchAsync(Entry entry)
    {
        var snapshot = entry.Snapshot;
        var policy = snapshot.Policy;
        var settings = policy.StatusListCache;
        string? problem;
        StatusListToken? token = null;
        var issuer = policy.Issuers.FirstOrDefault(i => string.Equals(i.Issuer, entry.Issuer, StringComparison.Ordinal));
        if (issuer is null || snapshot.Keys is null)
        {
            problem = "its issuer is no longer configured";
        }
        else if (!entry.Reference.IsUnder(issuer.StatusLists))
        {
            // The policy changed since the token was validated: the list is no longer somewhere the gateway may fetch from.
            problem = "its URL is no longer under the issuer's status_lists";
        }
        else
        {
            try
            {
                (token, problem) = await DownloadAsync(entry.Reference, issuer, snapshot.Keys, policy.Gateway.ClockSkew, settings).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever a hostile server manages to provoke, the list is unusable, never a 500 for every caller waiting on it.
                problem = "fetching it failed: " + e.GetType().Name;
            }
        }

        var now = _time.GetUtcNow();
        if (token is null)
        {
            entry.LastFailure = new Failure(problem!, now);
            LogFetchFailed(_logger, entry.Display, problem!);
            RaiseFetched(entry, false);
            return;
        }

        var life = token.Ttl is { } ttl && ttl < settings.MaxTtl ? ttl : settings.MaxTtl;
        life = life < MinTtl ? MinTtl : life;
        var expiresAt = now + life;
        if (token.Expires is { } exp && exp + policy.Gateway.ClockSkew < expiresAt)
        {
            expiresAt = exp + policy.Gateway.ClockSkew;
        }

        // Refreshed a quarter of its life before it expires (at least two timer ticks before), so a list in use
        // is replaced before any call finds it expired.
        var lead = TimeSpan.FromTicks(Math.Max((expiresAt - now).Ticks / 4, 2 * DefaultRefreshInterval.Ticks));
        entry.Current = new Loaded(token.List, now, expiresAt, expiresAt - lead);
        entry.LastFailure = null;
        LogFetched(_logger, entry.Display, token.List.Count, (long)life.TotalMilliseconds);
        RaiseFetched(entry, true);
    }

    private async Task<(StatusListToken?, string?)> DownloadAsync(StatusListReference reference, IssuerSettings issuer, ISigningKeyResolver keys, TimeSpan skew, StatusListCacheSettings settings)
    {
        using var timeout = new CancellationTokenSource(settings.FetchTimeout, _time);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, reference.Location);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(StatusListTokenVerifier.MediaType));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
            {
                return (null, $"its server answered {(int)response.StatusCode}");
            }

            if (!string.Equals(response.Content.Headers.ContentType?.MediaType, StatusListTokenVerifier.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                return (null, $"its server sent '{response.Content.Headers.ContentType?.MediaType ?? "no content type"}', not {StatusListTokenVerifier.MediaType}");
            }

            // The compressed list in base64url, plus its JWS: a body far larger than the largest list allowed is refused unread.
            var maxBody = (settings.MaxBytes * 2L) + (64 * 1024);
            var body = await ReadBoundedAsync(response.Content, maxBody, timeout.Token).ConfigureAwait(false);
            if (body is null)
            {
                return (null, $"its body is larger than {maxBody} bytes");
            }

            return await StatusListTokenVerifier.VerifyAsync(body, reference, issuer, keys, _time.GetUtcNow(), skew, settings.MaxBytes, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (null, $"its server did not answer within {PolicyDuration.Format(settings.FetchTimeout)}");
        }
        catch (HttpRequestException e)
        {
            return (null, "its server could not be reached: " + (e.HttpRequestError == HttpRequestError.Unknown ? "request failed" : e.HttpRequestError.ToString()));
        }
        catch (IOException)
        {
            return (null, "its server closed the connection");
        }
    }

    private static async Task<string?> ReadBoundedAsync(HttpContent content, long maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > maxBytes)
        {
            return null;
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        // A compact JWS is ASCII; anything else fails verification as not base64url.
        return System.Text.Encoding.ASCII.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).Trim();
    }

    private void Tick()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            var maxTtl = entry.Snapshot.Policy.StatusListCache.MaxTtl;

            // A list no token has named for a while is dropped; the next call that names it fetches it again.
            if (now - entry.LastUsed > maxTtl + maxTtl)
            {
                _entries.TryRemove(key, out _);
                continue;
            }

            var loaded = entry.Current;
            var due = loaded is null || now >= loaded.RefreshAt;
            var backingOff = entry.LastFailure is { } failure && now - failure.At < RetryInterval;
            if (due && !backingOff)
            {
                _ = Refresh(entry);
            }
        }
    }

    private void RaiseFetched(Entry entry, bool usable)
    {
        try
        {
            Fetched?.Invoke(entry.Reference.Uri, usable);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogHandlerFailed(_logger, e);
        }
    }

    /// <summary>One list: what was last fetched, the last failure, and the policy of the last call that named it.</summary>
    private sealed class Entry(string issuer, StatusListReference reference)
    {
        private long _lastUsedTicks;
        private volatile PolicySnapshot? _snapshot;

        public string Issuer { get; } = issuer;

        public StatusListReference Reference { get; } = reference;

        /// <summary>The URL without its query, for log lines.</summary>
        public string Display { get; } = reference.Location.GetLeftPart(UriPartial.Path);

        public volatile Loaded? Current;

        public volatile Failure? LastFailure;

        public Task? Inflight;

        public PolicySnapshot Snapshot => _snapshot!;

        public DateTimeOffset LastUsed => new(Volatile.Read(ref _lastUsedTicks), TimeSpan.Zero);

        public void Touch(PolicySnapshot snapshot, DateTimeOffset now)
        {
            // Plain stores, once per call: the latest policy verifies the next refresh.
            if (!ReferenceEquals(_snapshot, snapshot))
            {
                _snapshot = snapshot;
            }

            Volatile.Write(ref _lastUsedTicks, now.UtcTicks);
        }
    }

    private sealed record Loaded(StatusList List, DateTimeOffset FetchedAt, DateTimeOffset ExpiresAt, DateTimeOffset RefreshAt);

    private sealed record Failure(string Problem, DateTimeOffset At);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Debug, Message = "Status list {Uri} fetched: {Count} entries, kept {LifeMs} ms")]
    private static partial void LogFetched(ILogger logger, string uri, long count, long lifeMs);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Status list {Uri} is unusable: {Problem}")]
    private static partial void LogFetchFailed(ILogger logger, string uri, string problem);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Error, Message = "A status list Fetched handler threw")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
