using System.Collections.Concurrent;
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
/// <c>gateway.revocation.let_through</c> on two replicas sharing a real redis-server: calls run back to back on
/// replica B while a revocation is made on replica A, and B reports the calls it let through before the rule
/// reached it and how late the last one was. The meter is process-wide and both replicas share it, so this class
/// runs alone (no other test's revocation can feed the instruments meanwhile).
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class RevocationLetThroughTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Attempts = 10;
    private const int Callers = 4;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private readonly TestIssuer _issuer = new();
    private RedisServer _redis = null!;
    private UpstreamServer _upstream = null!;
    private TestGateway _a = null!;
    private TestGateway _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.ConnectionString };
        _upstream = await UpstreamServer.StartAsync();
        _a = await TestGateway.StartAsync(_issuer, _upstream, RevocationGatewayFixture.Policy, settings);
        _b = await TestGateway.StartAsync(_issuer, _upstream, RevocationGatewayFixture.Policy, settings);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
        _issuer.Dispose();
    }

    [Fact]
    public async Task RevocationOnReplicaA_WhileCallsRunOnReplicaB_BReportsTheCallsLetThrough_TheLastNoLaterThanItsLag()
    {
        using var metrics = new LetThroughListener();
        var appliedOnB = new ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);
        _b.Services.GetRequiredService<RevocationSynchronizer>().Applied += applied => appliedOnB.TryAdd(applied.Rule.Id, applied.Lag);

        // Whether a call falls between the rule's creation on A and its arrival on B (a millisecond or two) is
        // chance; each attempt gives the callers a fresh user and a fresh window.
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            var subject = Unique("user:let-through-");
            var token = Mint(_issuer, subject, [Unique("agent:let-through-")]);
            await AssertAllowedAsync(await CallAsync(_b, token));
            metrics.Clear();

            var posting = 0;
            var allowedWhilePosting = 0;
            using var revoked = new CancellationTokenSource(Bound);
            var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
            {
                while (!revoked.IsCancellationRequested)
                {
                    using var response = await CallAsync(_b, token);
                    if (response.StatusCode == HttpStatusCode.Unauthorized)
                    {
                        await AssertRevokedAsync(response);
                        await revoked.CancelAsync();
                        return;
                    }

                    // On a loaded machine the budget store's timeout can refuse a call (503): not let through, not counted.
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        continue;
                    }

                    await AssertAllowedAsync(response);

                    // Answered after the POST began: the calls that can have been let through after the rule's creation.
                    if (Volatile.Read(ref posting) == 1)
                    {
                        Interlocked.Increment(ref allowedWhilePosting);
                    }
                }
            })).ToArray();

            await Task.Delay(50);
            Volatile.Write(ref posting, 1);
            var id = (await RevokeAsync(_a, "sub", subject)).GetProperty("id").GetString()!;
            await Task.WhenAll(callers);
            Assert.True(appliedOnB.ContainsKey(id) || await Eventually(() => appliedOnB.ContainsKey(id)), "replica B never applied the rule");

            // B measures when the rule reaches its index, before it raises Applied: the measurement is in by now.
            var lag = appliedOnB[id];
            var gaps = metrics.Gaps.ToArray();
            var calls = metrics.Calls.Sum();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"attempt {attempt}: lag on B {lag.TotalMilliseconds:F2} ms, let through {calls} calls, the last {(gaps.Length == 0 ? "-" : (gaps[0] * 1000).ToString("F2", CultureInfo.InvariantCulture))} ms after creation; {allowedWhilePosting} calls answered 200 by B after the POST began"));
            if (gaps.Length == 0)
            {
                // Nothing fell in the window: then nothing at all is recorded, not a zero.
                Assert.Equal(0, calls);
                continue;
            }

            var gap = Assert.Single(gaps);
            Assert.True(gap > 0, $"gap {gap}");
            Assert.True(gap <= lag.TotalSeconds, $"the last call let through, {gap * 1000:F3} ms after the rule was made, is later than its arrival on B ({lag.TotalMilliseconds:F3} ms)");
            Assert.InRange(calls, 1, allowedWhilePosting);
            return;
        }

        Assert.Fail($"In {Attempts} attempts no call was let through between a revocation's creation on A and its arrival on B.");
    }

    [Fact]
    public async Task RevocationWithNoCallsInFlight_RecordsNothing()
    {
        using var metrics = new LetThroughListener();
        var subject = Unique("user:idle-");
        var token = Mint(_issuer, subject, [Unique("agent:idle-")]);
        await AssertAllowedAsync(await CallAsync(_a, token));
        await AssertAllowedAsync(await CallAsync(_b, token));
        await Task.Delay(20);

        await RevokeAsync(_a, "sub", subject);
        Assert.True(await Eventually(async () =>
        {
            using var response = await CallAsync(_b, token);
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }));

        Assert.Empty(metrics.Gaps);
        Assert.Empty(metrics.Calls);
    }

    private static async Task<bool> Eventually(Func<bool> condition) => await Eventually(() => Task.FromResult(condition()));

    private static async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    /// <summary>What <c>gateway.revocation.let_through</c> and <c>.calls</c> record while it lives.</summary>
    private sealed class LetThroughListener : IDisposable
    {
        private readonly MeterListener _listener = new();

        public LetThroughListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GatewayTelemetry.Name
                    && instrument.Name is GatewayTelemetry.RevocationLetThroughInstrument or GatewayTelemetry.RevocationLetThroughCallsInstrument)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, _, _) => Gaps.Enqueue(value));
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Calls.Enqueue(value));
            _listener.Start();
        }

        public ConcurrentQueue<double> Gaps { get; private set; } = new();

        public ConcurrentQueue<long> Calls { get; private set; } = new();

        public void Clear()
        {
            Gaps = new();
            Calls = new();
        }

        public void Dispose() => _listener.Dispose();
    }
}

/// <summary>Runs alone: its assertions read process-wide instruments.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
