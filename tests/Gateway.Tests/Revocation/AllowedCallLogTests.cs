using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Gateway.Revocation;
using Gateway.Telemetry;
using Gateway.Tokens;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Tests.Revocation.RevocationTestData;

namespace Gateway.Tests.Revocation;

public sealed class AllowedCallLogTests
{
    private readonly FakeTimeProvider _time = new(Now);

    public static TheoryData<RevocationKind, string, bool> Matching => new()
    {
        { RevocationKind.Jti, "jti-child", true },
        { RevocationKind.Jti, "jti-parent", true },
        { RevocationKind.Jti, "jti-other", false },
        { RevocationKind.Agent, "agent:planner", true },
        { RevocationKind.Agent, "agent:orchestrator", true },
        { RevocationKind.Agent, "agent:other", false },
        { RevocationKind.Subject, "user:alice", true },
        { RevocationKind.Subject, "agent:planner", false },
        { RevocationKind.ClientId, "runtime-1", true },
        { RevocationKind.ClientId, "user:alice", false },
    };

    [Theory]
    [MemberData(nameof(Matching))]
    public void Find_EachKind_MatchesWhatTheIndexWouldRefuse(RevocationKind kind, string value, bool matches)
    {
        var log = new AllowedCallLog(_time);
        var token = DelegatedToken();
        var rule = Rule(kind, value, createdAt: Now);
        _time.Advance(TimeSpan.FromMilliseconds(5));
        log.Record(token);

        var found = log.Find(rule);

        Assert.Equal(matches ? new LetThrough(1, TimeSpan.FromMilliseconds(5)) : default, found);
        Assert.Equal(matches, rule.Matches(token));
        var index = new RevocationIndex(_time);
        index.Add(rule);
        Assert.Equal(matches, index.Match(token) is not null);
    }

    [Fact]
    public void Find_IssuedBeforeCutOff_OnlyTokensIssuedEarlierCount()
    {
        var log = new AllowedCallLog(_time);
        var rule = Rule(RevocationKind.Subject, "user:alice", issuedBefore: Now.AddMinutes(-2), createdAt: Now);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        log.Record(Token(issuedAt: Now.AddMinutes(-3)));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        log.Record(Token(issuedAt: Now.AddMinutes(-1)));

        Assert.Equal(new LetThrough(1, TimeSpan.FromMilliseconds(1)), log.Find(rule));
    }

    [Fact]
    public void Find_CallsBeforeTheRuleWasMade_AreNotLetThrough_TheLastAfterItGivesTheGap()
    {
        var log = new AllowedCallLog(_time);
        var token = Token();
        log.Record(token);
        _time.Advance(TimeSpan.FromMilliseconds(10));
        var rule = Rule(RevocationKind.Subject, "user:alice", createdAt: _time.GetUtcNow());
        log.Record(token);
        _time.Advance(TimeSpan.FromMilliseconds(7));
        log.Record(token);
        _time.Advance(TimeSpan.FromMilliseconds(20));
        log.Record(Token(subject: "user:bob"));
        _time.Advance(TimeSpan.FromMilliseconds(100));

        // The call at the rule's creation instant is not after it; the one 7 ms later is the last it let through.
        Assert.Equal(new LetThrough(1, TimeSpan.FromMilliseconds(7)), log.Find(rule));
    }

    [Fact]
    public void Find_NothingRecorded_OrNothingMatching_IsNone()
    {
        var log = new AllowedCallLog(_time);
        var rule = Rule(RevocationKind.Agent, "agent:planner", createdAt: Now);

        Assert.Equal(default, log.Find(rule));
        Assert.Equal([default], log.Find([rule]));
        _time.Advance(TimeSpan.FromSeconds(1));
        log.Record(Token(actors: ["agent:support"]));
        Assert.Equal(default, log.Find(rule));
        Assert.Equal([default], log.Find([rule]));
    }

    [Fact]
    public void Find_CreatedAheadOfThisReplicasClock_CountsNothingYet()
    {
        var log = new AllowedCallLog(_time);
        log.Record(Token());

        Assert.Equal(default, log.Find(Rule(RevocationKind.Subject, "user:alice", createdAt: Now.AddSeconds(2))));
    }

    [Fact]
    public void Record_PastCapacity_KeepsTheLatestCalls_SoTheGapStaysRight_AndTheCountIsALowerBound()
    {
        var log = new AllowedCallLog(_time, capacity: 4);
        var rule = Rule(RevocationKind.Subject, "user:alice", createdAt: Now);
        var token = Token();
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            log.Record(token);
        }

        Assert.Equal(new LetThrough(4, TimeSpan.FromMilliseconds(10)), log.Find(rule));
    }

    [Fact]
    public void FindMany_AgreesWithFindForEachRule_AndCountsACallOnceWhenItCarriesTheValueTwice()
    {
        var log = new AllowedCallLog(_time, capacity: 64);
        var rules = new[]
        {
            Rule(RevocationKind.Subject, "same", createdAt: Now),
            Rule(RevocationKind.Agent, "same", createdAt: Now),
            Rule(RevocationKind.Jti, "jti-parent", createdAt: Now.AddMilliseconds(30)),
            Rule(RevocationKind.ClientId, "runtime-1", createdAt: Now),
            Rule(RevocationKind.Subject, "nobody", createdAt: Now),
        };
        var tokens = new[]
        {
            Token(subject: "same", actors: ["same", "same"]),
            DelegatedToken(),
            Token(jti: "jti-parent", clientId: "runtime-1"),
            Token(subject: "user:carol"),
        };
        for (var i = 0; i < 40; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            log.Record(tokens[i % tokens.Length]);
        }

        var many = log.Find(rules);

        Assert.Equal(rules.Select(log.Find), many);
        Assert.Equal(new LetThrough(10, TimeSpan.FromMilliseconds(37)), many[0]);
        Assert.Equal(default, many[4]);
    }

    [Fact]
    public async Task Record_WhileScanned_FromSeveralThreads_NeverThrows_AndStaysWithinBounds()
    {
        var log = new AllowedCallLog(TimeProvider.System, capacity: 256);
        var rule = Rule(RevocationKind.Subject, "user:alice", createdAt: DateTimeOffset.UtcNow.AddSeconds(-1));
        var tokens = new[] { Token(), Token(subject: "user:bob") };
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(() =>
        {
            // At least a few laps of the ring each, however late a loaded machine starts the thread.
            for (var i = 0; i < 10_000 || !stop.IsCancellationRequested; i++)
            {
                log.Record(tokens[(i + w) % 2]);
            }
        })).ToArray();

        var scans = 0;
        while (!stop.IsCancellationRequested || scans == 0)
        {
            var found = log.Find(rule);
            Assert.InRange(found.Calls, 0, 256);
            Assert.True(found.LargestGap >= TimeSpan.Zero && found.LargestGap < TimeSpan.FromSeconds(30), found.LargestGap.ToString());
            scans++;
        }

        await Task.WhenAll(writers);
        Assert.True(scans > 0);
        Assert.InRange(log.Find(rule).Calls, 1, 256);
    }

    [Fact]
    public void Index_RuleArrivingAfterCallsItMatches_RecordsTheGapAndTheCalls_ByAddAndByReplaceAll()
    {
        using var metrics = new LetThroughListener();
        var index = new RevocationIndex(_time);
        var token = Token(subject: "user:let-through-unit", clientId: "runtime-let-through-unit");
        var bySub = Rule(RevocationKind.Subject, "user:let-through-unit", createdAt: Now);
        var byClient = Rule(RevocationKind.ClientId, "runtime-let-through-unit", createdAt: Now);
        var unmatched = Rule(RevocationKind.Agent, "agent:let-through-unit-none", createdAt: Now);
        _time.Advance(TimeSpan.FromMilliseconds(13));
        index.RecordAllowed(token);
        _time.Advance(TimeSpan.FromMilliseconds(4));
        index.RecordAllowed(token);
        _time.Advance(TimeSpan.FromMilliseconds(50));

        Assert.True(index.Add(bySub));
        index.ReplaceAll([bySub, byClient, unmatched]);

        Assert.Contains(("sub", 0.017), metrics.Gaps);
        Assert.Contains(("client_id", 0.017), metrics.Gaps);
        Assert.DoesNotContain(metrics.Gaps, g => g.Kind == "agent");
        Assert.Contains(("sub", 2L), metrics.Calls);
        Assert.Contains(("client_id", 2L), metrics.Calls);
        Assert.NotNull(index.Match(token));
    }

    /// <summary>A token of user:alice delegated by agent:orchestrator to agent:planner, child of jti-parent, from client runtime-1.</summary>
    private static CapabilityToken DelegatedToken() =>
        Token(jti: "jti-child", actors: ["agent:planner", "agent:orchestrator"], chain: ["jti-parent"], clientId: "runtime-1");

    private sealed class LetThroughListener : IDisposable
    {
        private readonly MeterListener _listener = new();

        public LetThroughListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GatewayTelemetry.Name && instrument.Name.StartsWith(GatewayTelemetry.RevocationLetThroughInstrument, StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) => Gaps.Add((Kind(tags), Math.Round(value, 6))));
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Calls.Add((Kind(tags), value)));
            _listener.Start();
        }

        public ConcurrentBag<(string Kind, double Seconds)> Gaps { get; } = [];

        public ConcurrentBag<(string Kind, long Calls)> Calls { get; } = [];

        public void Dispose() => _listener.Dispose();

        private static string Kind(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == GatewayMetricTags.Kind)
                {
                    return (string)tag.Value!;
                }
            }

            return "";
        }
    }
}
