using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Telemetry;

/// <summary>
/// The gateway's one <see cref="System.Diagnostics.ActivitySource"/> and one <see cref="System.Diagnostics.Metrics.Meter"/>,
/// both named <c>Gateway</c>, and every instrument of contract section 8 plus the audit writer's.
/// Static, as OpenTelemetry .NET recommends: instruments are created once and are cheap to call
/// when nothing listens (each helper checks <see cref="Instrument.Enabled"/> first).
/// </summary>
/// <remarks>
/// Durations are in seconds, as <c>double</c>, following the OpenTelemetry semantic conventions
/// (<c>http.server.request.duration</c> is in <c>s</c>); bucket boundaries are advised for a call that
/// normally takes well under a millisecond.
/// </remarks>
public static class GatewayTelemetry
{
    /// <summary>Name of the ActivitySource and of the Meter: what <c>AddSource</c> and <c>AddMeter</c> take.</summary>
    public const string Name = "Gateway";

    /// <summary>The span around a request's authorization decision.</summary>
    public const string AuthorizeSpanName = "gateway.authorize";

    public const string DecisionsInstrument = "gateway.decisions";
    public const string AuthorizeDurationInstrument = "gateway.authorize.duration";
    public const string StepUpChallengesInstrument = "gateway.step_up.challenges";
    public const string RevocationLagInstrument = "gateway.revocation.lag";
    public const string RevocationLetThroughInstrument = "gateway.revocation.let_through";
    public const string RevocationLetThroughCallsInstrument = "gateway.revocation.let_through.calls";
    public const string TokenLifetimeInstrument = "gateway.token.lifetime";
    public const string BudgetChargesInstrument = "gateway.budget.charges";
    public const string BudgetRefusalsInstrument = "gateway.budget.refusals";
    public const string AuditQueueDepthInstrument = "gateway.audit.queue.depth";
    public const string AuditSinkErrorsInstrument = "gateway.audit.sink.errors";
    public const string AuditEventsInstrument = "gateway.audit.events";
    public const string AuditDroppedInstrument = "gateway.audit.dropped";
    public const string CredentialFetchesInstrument = "gateway.upstream.credential.fetches";
    public const string CredentialCacheHitsInstrument = "gateway.upstream.credential.cache_hits";
    public const string CredentialFailuresInstrument = "gateway.upstream.credential.failures";
    public const string UpstreamResponseBytesInstrument = "gateway.upstream.response.bytes";

    // From 100 µs to 10 s: a cached token and an in-memory store decide in microseconds, a Redis
    // round trip in about a millisecond, a JWKS fetch or a stalled store in up to seconds.
    private static readonly double[] DurationBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    // The contract allows a revocation one second to reach every replica; the buckets centre on that.
    // From a minute to a day: capability tokens should live minutes; a long tail here is what to tighten.
    private static readonly double[] LifetimeBuckets = [60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];

    // From 1 KiB to 1 GiB by powers of four: a JSON record, a page of them, an export, a dump.
    private static readonly long[] ByteBuckets =
        [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824];

    private static readonly double[] LagBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30];

    // The lag's buckets and a millisecond's: the replica that creates a rule lets calls through only while it
    // writes it to the store, about a Redis round trip.
    private static readonly double[] LetThroughBuckets = [0.001, 0.0025, 0.005, .. LagBuckets];

    private static readonly Lock QueuesLock = new();
    private static readonly List<Func<int>> Queues = [];

    private static readonly string Version =
        typeof(GatewayTelemetry).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    public static ActivitySource ActivitySource { get; } = new(Name, Version);

    public static Meter Meter { get; } = new(Name, Version);

    /// <summary>Decisions made; tags <c>decision</c>, <c>route</c> and, when refused, <c>error</c>.</summary>
    public static Counter<long> Decisions { get; } = Meter.CreateCounter<long>(
        DecisionsInstrument, "{decision}", "Authorization decisions, by outcome, refusal code and route.");

    /// <summary>Seconds from the start of evaluation to the decision; tags <c>decision</c>, <c>route</c>.</summary>
    public static Histogram<double> AuthorizeDuration { get; } = Meter.CreateHistogram(
        AuthorizeDurationInstrument,
        "s",
        "How long the gateway took to decide on a request.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    /// <summary>RFC 9470 step-up challenges sent (<c>insufficient_user_authentication</c>); tag <c>route</c>.</summary>
    public static Counter<long> StepUpChallenges { get; } = Meter.CreateCounter<long>(
        StepUpChallengesInstrument, "{challenge}", "Step-up authentication challenges sent to agents.");

    /// <summary>Seconds from a revocation's creation to this replica enforcing it.</summary>
    public static Histogram<double> RevocationLag { get; } = Meter.CreateHistogram(
        RevocationLagInstrument,
        "s",
        "Delay between a revocation being accepted and this replica enforcing it.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });

    /// <summary>
    /// For each revocation that let at least one call through on this replica before it arrived there: seconds
    /// from its creation to the last such call. Tag <c>kind</c> (<c>jti</c>, <c>agent</c>, <c>sub</c>, <c>client_id</c>).
    /// </summary>
    public static Histogram<double> RevocationLetThrough { get; } = Meter.CreateHistogram(
        RevocationLetThroughInstrument,
        "s",
        "Time from a revocation's creation to the last call this replica let through before enforcing it.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LetThroughBuckets });

    /// <summary>Calls let through after a revocation was made and before this replica enforced it; tag <c>kind</c>.</summary>
    public static Counter<long> RevocationLetThroughCalls { get; } = Meter.CreateCounter<long>(
        RevocationLetThroughCallsInstrument, "{call}", "Calls a revocation would have refused, let through before it reached this replica.");

    /// <summary>
    /// Seconds between <c>iat</c> and <c>exp</c> of each distinct token validated (a cached token is not counted
    /// again), so the dashboard shows how long the issuers' tokens live.
    /// </summary>
    public static Histogram<double> TokenLifetime { get; } = Meter.CreateHistogram(
        TokenLifetimeInstrument,
        "s",
        "Lifetime (exp - iat) of each distinct capability token validated.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LifetimeBuckets });

    /// <summary>Budget charges applied (an allowed call's step and risk); tag <c>route</c>.</summary>
    public static Counter<long> BudgetCharges { get; } = Meter.CreateCounter<long>(
        BudgetChargesInstrument, "{charge}", "Budget charges applied to allowed calls.");

    /// <summary>Calls refused by a budget; tags <c>route</c>, <c>error</c>.</summary>
    public static Counter<long> BudgetRefusals { get; } = Meter.CreateCounter<long>(
        BudgetRefusalsInstrument, "{refusal}", "Calls refused because a step or risk budget was spent.");

    /// <summary>Events waiting in the audit writers' queues (see <see cref="TrackAuditQueue"/>).</summary>
    public static ObservableGauge<int> AuditQueueDepth { get; } = Meter.CreateObservableGauge(
        AuditQueueDepthInstrument, ObserveAuditQueues, "{event}", "Audit events queued and not yet written.");

    /// <summary>Failed audit sink writes (each is retried); tag <c>sink</c>.</summary>
    public static Counter<long> AuditSinkErrors { get; } = Meter.CreateCounter<long>(
        AuditSinkErrorsInstrument, "{error}", "Audit sink write failures; the batch is retried.");

    /// <summary>Audit events stored; tag <c>sink</c> (an event stored by two sinks counts once for each).</summary>
    public static Counter<long> AuditEvents { get; } = Meter.CreateCounter<long>(
        AuditEventsInstrument, "{event}", "Audit events stored, per sink.");

    /// <summary>Audit events not written (a caller gave up waiting, or the writer had stopped).</summary>
    public static Counter<long> AuditDropped { get; } = Meter.CreateCounter<long>(
        AuditDroppedInstrument, "{event}", "Audit events that could not be queued; each drop is logged and audited.");

    /// <summary>Requests to a token endpoint for an upstream credential; tags <c>upstream</c>, <c>kind</c>, <c>outcome</c> (<c>success</c> or <c>failure</c>).</summary>
    public static Counter<long> CredentialFetches { get; } = Meter.CreateCounter<long>(
        CredentialFetchesInstrument, "{request}", "Token endpoint requests made for upstream credentials, by outcome.");

    /// <summary>Allowed calls served a cached upstream token; tags <c>upstream</c>, <c>kind</c>.</summary>
    public static Counter<long> CredentialCacheHits { get; } = Meter.CreateCounter<long>(
        CredentialCacheHitsInstrument, "{call}", "Allowed calls whose upstream token came from the cache.");

    /// <summary>Allowed calls refused with <c>upstream_credentials_unavailable</c>; tags <c>upstream</c>, <c>kind</c>.</summary>
    public static Counter<long> CredentialFailures { get; } = Meter.CreateCounter<long>(
        CredentialFailuresInstrument, "{call}", "Allowed calls refused because the upstream credential could not be had.");

    /// <summary>
    /// Response body bytes each forwarded call sent from the upstream to the agent; tags <c>route</c>, <c>tier</c>. The sum
    /// per route is the data that crossed the boundary, so a sudden export shows on a dashboard. Never tagged by agent or
    /// user: the audit event names them.
    /// </summary>
    public static Histogram<long> UpstreamResponseBytes { get; } = Meter.CreateHistogram(
        UpstreamResponseBytesInstrument,
        "By",
        "Response body bytes forwarded from upstreams to agents, per call.",
        tags: null,
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = ByteBuckets });

    /// <summary>Starts <c>gateway.authorize</c> as a child of the current (server) span; null when nobody listens.</summary>
    public static Activity? StartAuthorize() => ActivitySource.StartActivity(AuthorizeSpanName, ActivityKind.Internal);

    /// <param name="decision"><c>allow</c>, <c>deny</c> or <c>shadow_deny</c>.</param>
    /// <param name="error">The refusal code; null or empty when allowed.</param>
    /// <param name="route">The route id; null when no route matched.</param>
    /// <param name="duration">From the start of evaluation to the decision.</param>
    public static void RecordDecision(string decision, string? error, string? route, TimeSpan duration)
    {
        if (!Decisions.Enabled && !AuthorizeDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { GatewayMetricTags.Decision, decision },
            { GatewayMetricTags.Route, route ?? "" },
        };
        AuthorizeDuration.Record(duration.TotalSeconds, tags);
        if (!string.IsNullOrEmpty(error))
        {
            tags.Add(GatewayMetricTags.Error, error);
        }

        Decisions.Add(1, tags);
    }

    /// <param name="bytes">Response body bytes written to the agent.</param>
    /// <param name="route">The route id.</param>
    /// <param name="tier">The route's tier.</param>
    public static void RecordUpstreamResponseBytes(long bytes, string? route, string? tier)
    {
        if (UpstreamResponseBytes.Enabled)
        {
            UpstreamResponseBytes.Record(
                bytes,
                new KeyValuePair<string, object?>(GatewayMetricTags.Route, route ?? ""),
                new KeyValuePair<string, object?>(GatewayMetricTags.Tier, tier ?? ""));
        }
    }

    public static void RecordStepUpChallenge(string? route)
    {
        if (StepUpChallenges.Enabled)
        {
            StepUpChallenges.Add(1, new KeyValuePair<string, object?>(GatewayMetricTags.Route, route ?? ""));
        }
    }

    public static void RecordRevocationLag(TimeSpan lag)
    {
        if (RevocationLag.Enabled)
        {
            RevocationLag.Record(Math.Max(0, lag.TotalSeconds));
        }
    }

    /// <param name="kind">What the rule names.</param>
    /// <param name="calls">Calls it let through on this replica; at least one.</param>
    /// <param name="largestGap">From its creation to the last of them.</param>
    public static void RecordRevocationLetThrough(Revocation.RevocationKind kind, int calls, TimeSpan largestGap)
    {
        var tag = new KeyValuePair<string, object?>(GatewayMetricTags.Kind, Revocation.RevocationKinds.ToName(kind));
        if (RevocationLetThrough.Enabled)
        {
            RevocationLetThrough.Record(Math.Max(0, largestGap.TotalSeconds), tag);
        }

        if (RevocationLetThroughCalls.Enabled)
        {
            RevocationLetThroughCalls.Add(calls, tag);
        }
    }

    public static void RecordTokenLifetime(TimeSpan lifetime)
    {
        if (TokenLifetime.Enabled)
        {
            TokenLifetime.Record(Math.Max(0, lifetime.TotalSeconds));
        }
    }

    public static void RecordBudgetCharge(string? route)
    {
        if (BudgetCharges.Enabled)
        {
            BudgetCharges.Add(1, new KeyValuePair<string, object?>(GatewayMetricTags.Route, route ?? ""));
        }
    }

    /// <param name="route">The route id.</param>
    /// <param name="error"><c>step_limit_exceeded</c>, <c>risk_budget_exceeded</c> or <c>approval_required</c>.</param>
    public static void RecordBudgetRefusal(string? route, string error)
    {
        if (BudgetRefusals.Enabled)
        {
            BudgetRefusals.Add(
                1,
                new KeyValuePair<string, object?>(GatewayMetricTags.Route, route ?? ""),
                new KeyValuePair<string, object?>(GatewayMetricTags.Error, error));
        }
    }

    internal static void RecordCredentialFetch(string upstream, string kind, bool success)
    {
        if (CredentialFetches.Enabled)
        {
            CredentialFetches.Add(
                1,
                new KeyValuePair<string, object?>(GatewayMetricTags.Upstream, upstream),
                new KeyValuePair<string, object?>(GatewayMetricTags.Kind, kind),
                new KeyValuePair<string, object?>(GatewayMetricTags.Outcome, success ? "success" : "failure"));
        }
    }

    internal static void RecordCredentialCacheHit(string upstream, string kind)
    {
        if (CredentialCacheHits.Enabled)
        {
            CredentialCacheHits.Add(
                1,
                new KeyValuePair<string, object?>(GatewayMetricTags.Upstream, upstream),
                new KeyValuePair<string, object?>(GatewayMetricTags.Kind, kind));
        }
    }

    internal static void RecordCredentialFailure(string upstream, string kind)
    {
        if (CredentialFailures.Enabled)
        {
            CredentialFailures.Add(
                1,
                new KeyValuePair<string, object?>(GatewayMetricTags.Upstream, upstream),
                new KeyValuePair<string, object?>(GatewayMetricTags.Kind, kind));
        }
    }

    internal static void RecordAuditEvents(string sink, int count)
    {
        if (AuditEvents.Enabled)
        {
            AuditEvents.Add(count, new KeyValuePair<string, object?>(GatewayMetricTags.Sink, sink));
        }
    }

    internal static void RecordAuditSinkError(string sink)
    {
        if (AuditSinkErrors.Enabled)
        {
            AuditSinkErrors.Add(1, new KeyValuePair<string, object?>(GatewayMetricTags.Sink, sink));
        }
    }

    internal static void RecordAuditDropped(long count)
    {
        if (AuditDropped.Enabled)
        {
            AuditDropped.Add(count);
        }
    }

    /// <summary>
    /// Feeds <c>gateway.audit.queue.depth</c> from <paramref name="depth"/> until the result is disposed.
    /// The gauge reports the sum over every tracked queue (a process normally has one writer).
    /// </summary>
    public static IDisposable TrackAuditQueue(Func<int> depth)
    {
        ArgumentNullException.ThrowIfNull(depth);
        lock (QueuesLock)
        {
            Queues.Add(depth);
        }

        return new QueueRegistration(depth);
    }

    private static int ObserveAuditQueues()
    {
        lock (QueuesLock)
        {
            var total = 0;
            foreach (var depth in Queues)
            {
                total += depth();
            }

            return total;
        }
    }

    private sealed class QueueRegistration(Func<int> depth) : IDisposable
    {
        public void Dispose()
        {
            lock (QueuesLock)
            {
                Queues.Remove(depth);
            }
        }
    }
}
