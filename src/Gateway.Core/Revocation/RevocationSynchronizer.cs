using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Revocation;

/// <summary>
/// Keeps this replica's <see cref="RevocationIndex"/> equal to the store's rules. At start it subscribes to
/// announcements, then loads every rule; each announced rule is applied as it arrives (milliseconds); every
/// <see cref="RevocationSyncOptions.ResyncInterval"/> it compares the store's version with the one it loaded and
/// reloads everything when they differ, so a replica that lost an announcement, was disconnected, or started
/// late converges; expired rules are dropped on the same tick. While the store is unreachable it keeps
/// enforcing the rules it has, logs once, and retries on every tick; it never throws out of the host.
/// </summary>
public sealed partial class RevocationSynchronizer : IHostedService, IAsyncDisposable
{
    private readonly IRevocationStore _store;
    private readonly RevocationIndex _index;
    private readonly TimeProvider _timeProvider;
    private readonly RevocationSyncOptions _options;
    private readonly ILogger _logger;

    // Orders announcements against full reloads: an announcement that lands while a list is in flight is
    // remembered and merged into the reload, or the swap would drop it until the next version change.
    private readonly Lock _applyLock = new();
    private readonly SemaphoreSlim _syncGate = new(1, 1);
    private List<RevocationRule>? _announcedDuringLoad;

    private IAsyncDisposable? _subscription;
    private string? _loadedVersion;
    private volatile bool _hasLoaded;
    private int _disposed;
    private bool _storeFailing;
    private long _lastSyncedTicks;
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public RevocationSynchronizer(
        IRevocationStore store,
        RevocationIndex index,
        ILogger<RevocationSynchronizer> logger,
        TimeProvider? timeProvider = null,
        RevocationSyncOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(logger);
        options ??= new RevocationSyncOptions();
        options.Validate();
        _store = store;
        _index = index;
        _logger = logger;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _options = options;
    }

    /// <summary>
    /// Raised once for every rule this replica starts enforcing, with its propagation lag; for the
    /// <c>gateway.revocation.lag</c> histogram. Handlers run on the store's or the timer's thread, must be quick,
    /// and are isolated: one that throws is logged and the others still run.
    /// </summary>
    public event Action<RevocationApplied>? Applied;

    /// <summary>
    /// True once the full rule list has been loaded at least once. Until then this replica enforces no
    /// revocation at all (the store was down when it started), which <c>/readyz</c> should report.
    /// </summary>
    public bool HasLoaded => _hasLoaded;

    /// <summary>The last time the store answered a sync (a version check or a full load); null before the first.</summary>
    public DateTimeOffset? LastSyncedAt => Interlocked.Read(ref _lastSyncedTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_stopping is not null)
        {
            throw new InvalidOperationException("The revocation synchronizer is already started.");
        }

        _stopping = new CancellationTokenSource();

        // Subscribe before loading, so that nothing added between the list and the subscription is missed.
        await TrySubscribeAsync(cancellationToken);
        await SyncAsync(cancellationToken);

        // The timer starts now, not when the loop first runs, so the first resync is one interval after start.
        _loop = RunAsync(new PeriodicTimer(_options.ResyncInterval, _timeProvider), _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (Interlocked.Exchange(ref _subscription, null) is { } subscription)
        {
            try
            {
                await subscription.DisposeAsync();
            }
            catch (RevocationStoreUnavailableException ex)
            {
                // The store is gone anyway; its side of the subscription went with the connection.
                LogUnsubscribeFailed(_logger, ex);
            }
        }
    }

    /// <summary>
    /// One sync now, as the timer does it: subscribe if not subscribed, compare versions and reload when they
    /// differ, drop expired rules. Never throws for an unreachable store.
    /// </summary>
    public async Task ResyncAsync(CancellationToken cancellationToken)
    {
        await TrySubscribeAsync(cancellationToken);
        await SyncAsync(cancellationToken);
        var removed = _index.RemoveExpired();
        if (removed > 0)
        {
            LogExpiredRemoved(_logger, removed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A container that registers this both as itself and as a hosted service disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _stopping?.Dispose();
        _syncGate.Dispose();
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        using var disposeTimer = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    await ResyncAsync(stopping);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    // The loop is what keeps revocations current; whatever went wrong this tick, it must live on.
                    LogTickFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task TrySubscribeAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _subscription) is not null)
        {
            return;
        }

        using var timeout = Timeout(cancellationToken);
        try
        {
            var subscription = await _store.SubscribeAsync(OnAnnounced, timeout.Token);
            if (Interlocked.CompareExchange(ref _subscription, subscription, null) is not null)
            {
                await subscription.DisposeAsync();
            }
        }
        catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
        {
            ReportFailure(ex);
        }
    }

    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        await _syncGate.WaitAsync(cancellationToken);
        try
        {
            using var timeout = Timeout(cancellationToken);
            var version = await _store.GetVersionAsync(timeout.Token);
            if (_hasLoaded && string.Equals(version, _loadedVersion, StringComparison.Ordinal))
            {
                ReportSuccess();
                return;
            }

            lock (_applyLock)
            {
                _announcedDuringLoad = [];
            }

            IReadOnlyList<RevocationRule> added;
            var rules = await _store.ListAsync(timeout.Token);
            lock (_applyLock)
            {
                added = _index.ReplaceAll(rules.Concat(_announcedDuringLoad));
                _announcedDuringLoad = null;
            }

            var delivery = _hasLoaded ? RevocationDelivery.Resync : RevocationDelivery.Startup;
            if (!_hasLoaded)
            {
                LogLoaded(_logger, _index.Count);
            }
            else if (added.Count > 0)
            {
                LogArrivedByResync(_logger, added.Count);
            }

            // Recorded only after the version: a version read before the list can only be older than the list.
            _loadedVersion = version;
            _hasLoaded = true;
            ReportSuccess();
            foreach (var rule in added)
            {
                Raise(rule, delivery);
            }
        }
        catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
        {
            lock (_applyLock)
            {
                _announcedDuringLoad = null;
            }

            ReportFailure(ex);
        }
        finally
        {
            _syncGate.Release();
        }
    }

    private void OnAnnounced(RevocationRule rule)
    {
        bool added;
        lock (_applyLock)
        {
            _announcedDuringLoad?.Add(rule);
            added = _index.Add(rule);
        }

        if (added)
        {
            Raise(rule, RevocationDelivery.Announcement);
        }
    }

    private void Raise(RevocationRule rule, RevocationDelivery delivery)
    {
        var lag = _timeProvider.GetUtcNow() - rule.CreatedAt;
        if (lag < TimeSpan.Zero)
        {
            lag = TimeSpan.Zero;
        }

        if (delivery != RevocationDelivery.Startup)
        {
            LogApplied(_logger, rule.Id, rule.Kind, lag.TotalMilliseconds, delivery);
        }

        if (Applied is not { } handlers)
        {
            return;
        }

        var applied = new RevocationApplied(rule, lag, delivery);
        foreach (var handler in handlers.GetInvocationList().Cast<Action<RevocationApplied>>())
        {
            try
            {
                handler(applied);
            }
            catch (Exception ex)
            {
                // A broken metric must not stop a revocation from being counted by the next handler, or the sync.
                LogHandlerFailed(_logger, ex);
            }
        }
    }

    private CancellationTokenSource Timeout(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StoreTimeout);
        return timeout;
    }

    /// <summary>An unreachable store, or a store call that ran out of time (but not the caller giving up).</summary>
    private static bool IsStoreFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is RevocationStoreUnavailableException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private void ReportSuccess()
    {
        Interlocked.Exchange(ref _lastSyncedTicks, _timeProvider.GetUtcNow().UtcTicks);
        if (_storeFailing)
        {
            _storeFailing = false;
            LogStoreRecovered(_logger, _index.Count);
        }
    }

    private void ReportFailure(Exception ex)
    {
        // Once per outage at Warning; every retry after that at Debug, or a long outage floods the log.
        if (!_storeFailing)
        {
            _storeFailing = true;
            LogStoreFailed(_logger, _index.Count, _options.ResyncInterval, ex);
        }
        else if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogStoreStillFailing(_logger, ex.Message);
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Loaded {Count} revocation rules.")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Revocation {RuleId} ({Kind}) enforced {LagMs:F0} ms after it was made, by {Delivery}.")]
    private static partial void LogApplied(ILogger logger, string ruleId, RevocationKind kind, double lagMs, RevocationDelivery delivery);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "{Count} revocation rules arrived by resync, not by announcement (announcements lost or the store was unreachable).")]
    private static partial void LogArrivedByResync(ILogger logger, int count);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "The revocation store is unreachable; enforcing the {Count} rules last loaded and retrying every {Interval}.")]
    private static partial void LogStoreFailed(ILogger logger, int count, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Debug, Message = "The revocation store is still unreachable: {Problem}")]
    private static partial void LogStoreStillFailing(ILogger logger, string problem);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Information, Message = "The revocation store is reachable again; {Count} rules enforced.")]
    private static partial void LogStoreRecovered(ILogger logger, int count);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Debug, Message = "Dropped {Count} expired revocation rules.")]
    private static partial void LogExpiredRemoved(ILogger logger, int count);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Error, Message = "A revocation sync tick failed unexpectedly; the next tick retries.")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Warning, Message = "A handler of RevocationSynchronizer.Applied threw.")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Debug, Message = "Unsubscribing from revocation announcements failed.")]
    private static partial void LogUnsubscribeFailed(ILogger logger, Exception exception);
}
