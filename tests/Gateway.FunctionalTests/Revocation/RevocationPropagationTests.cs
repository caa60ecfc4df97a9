using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Revocation;
using Gateway.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.Revocation;

/// <summary>
/// Two (and three) gateway replicas sharing one real redis-server, as in production: a revocation posted to one
/// replica is enforced by every replica within the contract's second (section 6), including a replica started
/// after it. The lag is measured from the 201 to the first refusal seen by a client, polling every ~10 ms, and
/// printed (run with <c>--logger "console;verbosity=detailed"</c> to see it).
/// </summary>
public sealed class RevocationPropagationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ContractLag = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollBound = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AfterOutageBound = TimeSpan.FromSeconds(15);

    private readonly TestIssuer _issuer = new();
    private RedisServer _redis = null!;
    private UpstreamServer _upstream = null!;
    private TestGateway _a = null!;
    private TestGateway _b = null!;
    private Dictionary<string, string?> _settings = [];

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.ConnectionString };
        _upstream = await UpstreamServer.StartAsync();
        _a = await StartReplicaAsync();
        _b = await StartReplicaAsync();
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
        _issuer.Dispose();
    }

    private Task<TestGateway> StartReplicaAsync() => TestGateway.StartAsync(_issuer, _upstream, RevocationGatewayFixture.Policy, _settings);

    [Fact]
    public async Task PostRevocation_ToReplicaA_IsEnforcedByBothReplicasWithinOneSecond()
    {
        var agent = Unique("agent:two-replicas-");
        var token = Mint(_issuer, Unique("user:two-replicas-"), [agent]);
        await AssertAllowedAsync(await CallAsync(_a, token));
        await AssertAllowedAsync(await CallAsync(_b, token));
        using var lagMetric = new LagListener();
        var appliedOnB = AppliedLags(_b);

        var rule = await RevokeAsync(_a, "agent", agent);
        var since = Stopwatch.StartNew();
        var lags = await Task.WhenAll(UntilRevokedAsync(_a, token, since), UntilRevokedAsync(_b, token, since));

        var id = rule.GetProperty("id").GetString()!;
        var applied = await EventuallyAsync(() => appliedOnB.TryGetValue(id, out var lag) ? lag : (TimeSpan?)null);
        output.WriteLine(Invariant($"201 -> refused: replica A {lags[0].TotalMilliseconds:F1} ms, replica B {lags[1].TotalMilliseconds:F1} ms; created_at -> applied on B (gateway.revocation.lag): {applied?.TotalMilliseconds:F1} ms"));
        Assert.InRange(lags[0], TimeSpan.Zero, ContractLag);
        Assert.InRange(lags[1], TimeSpan.Zero, ContractLag);
        Assert.NotNull(applied);
        Assert.InRange(applied.Value, TimeSpan.Zero, ContractLag);

        // Both replicas fed the lag histogram (it is process-wide here: both replicas share the meter).
        Assert.True(await EventuallyAsync(() => lagMetric.Values.Count >= 2), $"gateway.revocation.lag recorded {lagMetric.Values.Count} values");
        Assert.All(lagMetric.Values, v => Assert.InRange(v, 0, ContractLag.TotalSeconds));
    }

    [Fact]
    public async Task HundredRevocations_PostedToReplicaA_AreEnforcedByReplicaB_P99UnderOneSecond()
    {
        const int Count = 100;
        var sub = Unique("user:hundred-");
        var tokens = Enumerable.Range(0, Count).Select(_ => Mint(_issuer, sub, ["agent:planner"])).ToArray();
        foreach (var token in tokens)
        {
            await AssertAllowedAsync(await CallAsync(_b, token));
        }

        var appliedOnB = AppliedLags(_b);
        var ids = new List<string>();
        var lags = new List<double>();
        var total = Stopwatch.StartNew();
        foreach (var token in tokens)
        {
            var rule = await RevokeAsync(_a, "jti", Jti(token));
            var since = Stopwatch.StartNew();
            lags.Add((await UntilRevokedAsync(_b, token, since)).TotalMilliseconds);
            ids.Add(rule.GetProperty("id").GetString()!);
        }

        total.Stop();
        Assert.True(await EventuallyAsync(() => ids.All(appliedOnB.ContainsKey)), "replica B did not report every rule applied");
        var client = Stats(lags);
        var server = Stats(ids.Select(id => appliedOnB[id].TotalMilliseconds));
        output.WriteLine(Invariant($"{Count} revocations posted to A, 201 -> refused by B (client, polling ~10 ms): p50 {client.P50:F1} ms, p99 {client.P99:F1} ms, max {client.Max:F1} ms"));
        output.WriteLine(Invariant($"{Count} revocations, created_at -> applied on B (gateway.revocation.lag): p50 {server.P50:F2} ms, p99 {server.P99:F2} ms, max {server.Max:F2} ms"));
        output.WriteLine(Invariant($"{Count} POST + poll rounds took {total.Elapsed.TotalSeconds:F1} s"));
        Assert.InRange(client.P99, 0, ContractLag.TotalMilliseconds);
        Assert.InRange(server.P99, 0, ContractLag.TotalMilliseconds);
        Assert.InRange(total.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ReplicaStartedAfterTheRevocation_EnforcesItFromItsFirstRequest()
    {
        var sub = Unique("user:late-");
        var token = Mint(_issuer, sub, ["agent:planner"]);
        var other = Mint(_issuer, Unique("user:late-other-"), ["agent:planner"]);
        var rule = await RevokeAsync(_a, "sub", sub);
        var id = rule.GetProperty("id").GetString();

        await using var late = await StartReplicaAsync();

        using (var ready = await late.Admin.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("\"revocations\":\"loaded\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await AssertRevokedAsync(await CallAsync(late, token), id, "Tokens for this user have been revoked");
        await AssertAllowedAsync(await CallAsync(late, other));
        Assert.Contains((await ListAsync(late)).GetProperty("revocations").EnumerateArray(), r => r.GetProperty("id").GetString() == id);
        await AssertRevokedAsync(await CallAsync(_b, token), id);
    }

    [Fact]
    public async Task PostRevocation_ToReplicaB_IsEnforcedByReplicaA()
    {
        var client = Unique("runtime-");
        var token = Mint(_issuer, Unique("user:reverse-"), ["agent:planner"], clientId: client);
        await AssertAllowedAsync(await CallAsync(_a, token));

        await RevokeAsync(_b, "client_id", client);
        var lag = await UntilRevokedAsync(_a, token, Stopwatch.StartNew());

        output.WriteLine(Invariant($"posted to B, 201 -> refused by A: {lag.TotalMilliseconds:F1} ms"));
        Assert.InRange(lag, TimeSpan.Zero, ContractLag);
    }

    [Fact]
    public async Task RedisDown_PostIs503_ExistingRulesStayEnforced_AndRulesPostedAfterItReturnsAreEnforcedEverywhere()
    {
        var revokedAgent = Unique("agent:before-outage-");
        var revoked = Mint(_issuer, Unique("user:outage-"), [revokedAgent]);
        await RevokeAsync(_a, "agent", revokedAgent);
        await UntilRevokedAsync(_b, revoked, Stopwatch.StartNew());

        await _redis.KillAsync();

        using (var post = await _a.AdminSendAsync(HttpMethod.Post, "/revocations", Json("""{"agent":"agent:during-outage","reason":"test: outage"}""")))
        {
            await AssertAdminProblemAsync(post, 503, "policy_store_unavailable");
        }

        using (var list = await _a.AdminSendAsync(HttpMethod.Get, "/revocations"))
        {
            await AssertAdminProblemAsync(list, 503, "policy_store_unavailable");
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _a.Admin.GetAsync("/readyz")).StatusCode);

        // Enforced from memory while the store is away: the refusal comes before any budget is needed.
        await AssertRevokedAsync(await CallAsync(_a, revoked));
        await AssertRevokedAsync(await CallAsync(_b, revoked));

        // Back, and empty (no persistence in tests): what is posted now reaches both replicas again.
        await _redis.RestartAsync();
        var agent = Unique("agent:after-outage-");
        var token = Mint(_issuer, Unique("user:after-outage-"), [agent]);
        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(100);
            using var response = await _a.AdminSendAsync(HttpMethod.Post, "/revocations", Json($$"""{"agent":"{{agent}}","reason":"test: after outage"}"""));
            status = response.StatusCode;
        }
        while (status == HttpStatusCode.ServiceUnavailable && deadline.Elapsed < TimeSpan.FromSeconds(20));

        Assert.Equal(HttpStatusCode.Created, status);

        // A subscription that came back after the announcement is made up by the next resync (every 5 s).
        var since = Stopwatch.StartNew();
        var lags = await Task.WhenAll(UntilRevokedAsync(_a, token, since, afterOutage: true), UntilRevokedAsync(_b, token, since, afterOutage: true));
        output.WriteLine(Invariant($"after Redis came back: 201 -> refused by A {lags[0].TotalMilliseconds:F1} ms, by B {lags[1].TotalMilliseconds:F1} ms"));
    }

    /// <summary>
    /// Polls <paramref name="gateway"/> every ~10 ms until it refuses <paramref name="token"/> as revoked; returns when, on
    /// <paramref name="since"/>. Until then every call must be allowed; <paramref name="afterOutage"/> also lets the budget
    /// store's 503 through (its circuit closes again a moment after Redis is back) and waits longer.
    /// </summary>
    private static async Task<TimeSpan> UntilRevokedAsync(TestGateway gateway, string token, Stopwatch since, bool afterOutage = false)
    {
        var bound = afterOutage ? AfterOutageBound : PollBound;
        while (true)
        {
            using var response = await CallAsync(gateway, token, "poll");
            var at = since.Elapsed;
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                await AssertRevokedAsync(response);
                return at;
            }

            if (!afterOutage || response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                await AssertAllowedAsync(response);
            }

            Assert.True(at < bound, $"{gateway.Address} still accepted the token {at.TotalMilliseconds:F0} ms after the 201.");
            await Task.Delay(10);
        }
    }

    /// <summary>The lag each rule had when the replica's synchronizer applied it: what feeds <c>gateway.revocation.lag</c>.</summary>
    private static ConcurrentDictionary<string, TimeSpan> AppliedLags(TestGateway gateway)
    {
        var lags = new ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);
        gateway.Services.GetRequiredService<RevocationSynchronizer>().Applied += applied => lags.TryAdd(applied.Rule.Id, applied.Lag);
        return lags;
    }

    private static async Task<T> EventuallyAsync<T>(Func<T> read)
    {
        var deadline = Stopwatch.StartNew();
        var value = read();
        while (EqualityComparer<T>.Default.Equals(value, default) && deadline.Elapsed < PollBound)
        {
            await Task.Delay(10);
            value = read();
        }

        return value;
    }

    private static (double P50, double P99, double Max) Stats(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return (Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted[^1]);
    }

    /// <summary>Nearest rank: the smallest value with at least <paramref name="p"/> of the values at or below it.</summary>
    private static double Percentile(double[] sorted, double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Collects what <c>gateway.revocation.lag</c> records while it lives.</summary>
    private sealed class LagListener : IDisposable
    {
        private readonly MeterListener _listener = new();

        public LagListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GatewayTelemetry.Name && instrument.Name == GatewayTelemetry.RevocationLagInstrument)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, _, _) => Values.Add(value));
            _listener.Start();
        }

        public ConcurrentBag<double> Values { get; } = [];

        public void Dispose() => _listener.Dispose();
    }
}
