using System.Collections.Concurrent;
using System.Diagnostics;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Redis;
using Gateway.Redis.Revocation;
using Gateway.Revocation;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Gateway.FunctionalTests.Revocation;

public sealed class RedisRevocationStoreTests : RevocationStoreContractTests, IClassFixture<RedisFixture>
{
    private readonly RedisFixture _redis;
    private readonly ITestOutputHelper _output;
    private readonly Dictionary<IRevocationStore, string> _prefixes = [];

    public RedisRevocationStoreTests(RedisFixture redis, ITestOutputHelper output)
    {
        _redis = redis;
        _output = output;
    }

    protected override TimeProvider Time => TimeProvider.System;

    protected override IRevocationStore CreateStore() => CreateStore(_redis.Connection, NewPrefix());

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    protected override async Task<int> CountStoredAsync(IRevocationStore store) => (await KeysAsync(_redis, _prefixes[store] + "{revocations}:rule:")).Count;

    [Fact]
    public async Task AddAsync_Keys_ShareOneSlotAndExpireWithTheRule()
    {
        var prefix = NewPrefix();
        var store = CreateStore(_redis.Connection, prefix);
        var rule = NewRule(lifetime: TimeSpan.FromMinutes(10));

        await store.AddAsync(rule, CancellationToken.None);

        var keys = await KeysAsync(_redis, prefix);
        Assert.Equal(
            [$"{prefix}{{revocations}}:index", $"{prefix}{{revocations}}:rule:{rule.Id}", $"{prefix}{{revocations}}:version"],
            keys.Select(k => (string)k!).Order(StringComparer.Ordinal));
        Assert.Single(keys.Select(k => _redis.Connection.HashSlot(k)).Distinct());

        var db = _redis.Connection.GetDatabase();
        var ruleTtl = await db.KeyTimeToLiveAsync($"{prefix}{{revocations}}:rule:{rule.Id}");
        var indexTtl = await db.KeyTimeToLiveAsync($"{prefix}{{revocations}}:index");
        Assert.InRange(ruleTtl!.Value, TimeSpan.FromMinutes(9.9), TimeSpan.FromMinutes(10));
        Assert.InRange(indexTtl!.Value, TimeSpan.FromMinutes(9.9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task AddAsync_IndexTtl_ExtendedToTheLatestExpiryAndNeverShortened()
    {
        var prefix = NewPrefix();
        var store = CreateStore(_redis.Connection, prefix);
        var db = _redis.Connection.GetDatabase();

        await store.AddAsync(NewRule(lifetime: TimeSpan.FromMinutes(30)), CancellationToken.None);
        await store.AddAsync(NewRule(lifetime: TimeSpan.FromMinutes(5)), CancellationToken.None);

        var indexTtl = await db.KeyTimeToLiveAsync($"{prefix}{{revocations}}:index");
        Assert.InRange(indexTtl!.Value, TimeSpan.FromMinutes(29.9), TimeSpan.FromMinutes(30));
    }

    [Fact]
    public async Task TwoReplicas_HundredRevocations_EachEnforcedByTheOtherWithinOneSecond()
    {
        // Two multiplexers are two gateway replicas: they share nothing but Redis.
        await using var secondConnection = await GatewayRedisConnection.ConnectAsync(_redis.Server.ConnectionString);
        var prefix = NewPrefix();
        await using var replicaA = await Replica.StartAsync(CreateStore(_redis.Connection, prefix));
        await using var replicaB = await Replica.StartAsync(CreateStore(secondConnection, prefix));
        var rules = new List<RevocationRule>();

        for (var i = 0; i < 100; i++)
        {
            var rule = NewRule(RevocationKind.Jti, $"jti-{i}");
            rules.Add(rule);
            await replicaA.Store.AddAsync(rule, CancellationToken.None);
        }

        Assert.True(await EventuallyAsync(() => replicaB.Applied.Count == 100 && replicaA.Applied.Count == 100), $"B applied {replicaB.Applied.Count}, A {replicaA.Applied.Count}");
        foreach (var rule in rules)
        {
            Assert.NotNull(replicaB.Index.Match(Token(jti: rule.Value)));
        }

        var lags = replicaB.Applied.Select(a => a.Lag.TotalMilliseconds).Order().ToArray();
        Assert.All(replicaB.Applied, a => Assert.Equal(RevocationDelivery.Announcement, a.Delivery));
        _output.WriteLine($"revocation lag on the other replica, 100 rules: p50 {Percentile(lags, 0.50):F2} ms, p99 {Percentile(lags, 0.99):F2} ms, max {lags[^1]:F2} ms");
        var own = replicaA.Applied.Select(a => a.Lag.TotalMilliseconds).Order().ToArray();
        _output.WriteLine($"revocation lag on the replica that added them: p50 {Percentile(own, 0.50):F2} ms, p99 {Percentile(own, 0.99):F2} ms");
        Assert.InRange(lags[^1], 0, 1_000);
    }

    [Fact]
    public async Task ReplicaStartedAfterTheRevocation_EnforcesItWhenStartReturns()
    {
        var prefix = NewPrefix();
        var rule = NewRule(RevocationKind.Subject, "user:alice");
        await CreateStore(_redis.Connection, prefix).AddAsync(rule, CancellationToken.None);

        await using var secondConnection = await GatewayRedisConnection.ConnectAsync(_redis.Server.ConnectionString);
        await using var late = await Replica.StartAsync(CreateStore(secondConnection, prefix));

        Assert.Equal(rule, late.Index.Match(Token())?.Rule);
        Assert.Equal(RevocationDelivery.Startup, Assert.Single(late.Applied).Delivery);
    }

    [Fact]
    public async Task AnnouncementPublishedBeforeTheReplicaSubscribed_ConvergesByResync()
    {
        var prefix = NewPrefix();
        var writer = CreateStore(_redis.Connection, prefix);
        await using var secondConnection = await GatewayRedisConnection.ConnectAsync(_redis.Server.ConnectionString);
        var late = new LateSubscribingStore(CreateStore(secondConnection, prefix));
        var interval = TimeSpan.FromMilliseconds(300);
        await using var replica = await Replica.StartAsync(late, interval);

        // Loaded (empty) but not yet subscribed: the announcement goes to nobody.
        var rule = NewRule(RevocationKind.Agent, "agent:planner");
        await writer.AddAsync(rule, CancellationToken.None);
        await late.SubscribeNowAsync();

        var took = Stopwatch.StartNew();
        Assert.True(await EventuallyAsync(() => replica.Index.Match(Token()) is not null, TimeSpan.FromSeconds(3)));
        Assert.Equal(RevocationDelivery.Resync, Assert.Single(replica.Applied).Delivery);
        _output.WriteLine($"lost announcement made up by resync after {took.Elapsed.TotalMilliseconds:F0} ms (interval {interval.TotalMilliseconds} ms)");

        // And from now on announcements arrive.
        await writer.AddAsync(NewRule(RevocationKind.Subject, "user:bob"), CancellationToken.None);
        Assert.True(await EventuallyAsync(() => replica.Applied.Any(a => a.Delivery == RevocationDelivery.Announcement)));
    }

    [Fact]
    public async Task SubscriptionConnectionKilled_RulesAddedMeanwhileStillArrive()
    {
        await using var server = await RedisServer.StartAsync();
        await using var writerConnection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        await using var readerConnection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var writer = CreateStore(writerConnection, "gw:");
        await using var replica = await Replica.StartAsync(CreateStore(readerConnection, "gw:"), TimeSpan.FromMilliseconds(300));

        Assert.StartsWith(":", await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub"), StringComparison.Ordinal);
        await writer.AddAsync(NewRule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);

        Assert.True(await EventuallyAsync(() => replica.Index.Match(Token()) is not null, TimeSpan.FromSeconds(3)));
        await writer.AddAsync(NewRule(RevocationKind.Subject, "user:bob"), CancellationToken.None);
        Assert.True(await EventuallyAsync(() => replica.Index.Match(Token(agent: "agent:x", subject: "user:bob")) is not null, TimeSpan.FromSeconds(3)));
        _output.WriteLine(string.Join(", ", replica.Applied.Select(a => $"{a.Rule.Kind} by {a.Delivery} after {a.Lag.TotalMilliseconds:F0} ms")));
    }

    [Fact]
    public async Task RedisDown_ReplicaKeepsEnforcingAndCatchesUpWhenItReturns()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = CreateStore(connection, "gw:");
        await store.AddAsync(NewRule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);
        await using var replica = await Replica.StartAsync(store, TimeSpan.FromMilliseconds(200));
        Assert.NotNull(replica.Index.Match(Token()));

        await server.KillAsync();
        await Task.Delay(600);
        await replica.Synchronizer.ResyncAsync(CancellationToken.None);

        Assert.NotNull(replica.Index.Match(Token()));
        await Assert.ThrowsAsync<RevocationStoreUnavailableException>(() => store.AddAsync(NewRule(), CancellationToken.None).AsTask());

        // It comes back empty (no persistence in tests): what is added now reaches the replica, by whichever path.
        await server.RestartAsync();
        var added = false;
        var deadline = Stopwatch.StartNew();
        while (!added && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                await store.AddAsync(NewRule(RevocationKind.Subject, "user:bob"), CancellationToken.None);
                added = true;
            }
            catch (RevocationStoreUnavailableException)
            {
                await Task.Delay(100);
            }
        }

        Assert.True(added, "Redis did not come back");
        Assert.True(await EventuallyAsync(() => replica.Index.Match(Token(agent: "agent:x", subject: "user:bob")) is not null, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task RedisDownAtStart_ReplicaStartsAndConvergesOnceRedisIsUp()
    {
        await using var server = await RedisServer.StartAsync();
        await using var readerConnection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        await server.KillAsync();

        await using var replica = await Replica.StartAsync(CreateStore(readerConnection, "gw:"), TimeSpan.FromMilliseconds(200));
        Assert.False(replica.Synchronizer.HasLoaded);

        await server.RestartAsync();
        await using var writerConnection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var writer = CreateStore(writerConnection, "gw:");
        await writer.AddAsync(NewRule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);

        Assert.True(await EventuallyAsync(() => replica.Synchronizer.HasLoaded && replica.Index.Match(Token()) is not null, TimeSpan.FromSeconds(10)));

        // Subscribed again exactly once: a later rule arrives by announcement, and only once.
        Assert.True(await EventuallyAsync(() => replica.Synchronizer.LastSyncedAt > DateTimeOffset.UtcNow.AddMilliseconds(-150), TimeSpan.FromSeconds(5)));
        var rule = NewRule(RevocationKind.Subject, "user:bob");
        await writer.AddAsync(rule, CancellationToken.None);
        Assert.True(await EventuallyAsync(() => replica.Applied.Any(a => a.Rule.Id == rule.Id), TimeSpan.FromSeconds(5)));
        await Task.Delay(300);
        Assert.Single(replica.Applied, a => a.Rule.Id == rule.Id);
        _output.WriteLine(string.Join(", ", replica.Applied.Select(a => $"{a.Rule.Kind} by {a.Delivery} after {a.Lag.TotalMilliseconds:F0} ms")));
    }

    [Fact]
    public async Task ListAsync_HundredThousandRules_AllReturned()
    {
        var prefix = NewPrefix();
        var store = CreateStore(_redis.Connection, prefix);
        const int Count = 100_000;
        var kinds = Enum.GetValues<RevocationKind>();
        var took = Stopwatch.StartNew();

        // A thousand in flight at a time: all 100,000 at once would outlast the multiplexer's command timeout.
        for (var start = 0; start < Count; start += 1_000)
        {
            await Task.WhenAll(Enumerable.Range(start, 1_000).Select(i => store.AddAsync(NewRule(kinds[i % kinds.Length], $"value-{i}"), CancellationToken.None).AsTask()));
        }

        var added = took.Elapsed;

        took.Restart();
        var rules = await store.ListAsync(CancellationToken.None);
        var listed = took.Elapsed;
        var index = new RevocationIndex();
        took.Restart();
        index.ReplaceAll(rules);
        var indexed = took.Elapsed;

        Assert.Equal(Count, rules.Count);
        Assert.Equal(Count, index.Count);
        _output.WriteLine($"100,000 rules: added (pipelined) in {added.TotalMilliseconds:F0} ms, listed in {listed.TotalMilliseconds:F0} ms, indexed in {indexed.TotalMilliseconds:F0} ms");
        await _redis.Connection.GetDatabase().KeyDeleteAsync([.. (await KeysAsync(_redis, prefix))]);
    }

    private RedisRevocationStore CreateStore(IConnectionMultiplexer connection, string prefix)
    {
        var store = new RedisRevocationStore(connection, new RevocationStoreOptions { KeyPrefix = prefix });
        _prefixes[store] = prefix;
        return store;
    }

    // A prefix per test keeps tests apart on the one shared server, channel included.
    private static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12] + ":";

    private static double Percentile(double[] sorted, double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static async Task<IReadOnlyList<RedisKey>> KeysAsync(RedisFixture redis, string prefix)
    {
        var server = redis.Connection.GetServer(redis.Server.ConnectionString);
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
        {
            keys.Add(key);
        }

        return keys;
    }

    /// <summary>One gateway replica's revocation half: a store, an index and a running synchronizer.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private Replica(IRevocationStore store, TimeSpan interval)
        {
            Store = store;
            Synchronizer = new RevocationSynchronizer(store, Index, NullLogger<RevocationSynchronizer>.Instance, options: new RevocationSyncOptions { ResyncInterval = interval });
            Synchronizer.Applied += Applied.Add;
        }

        public IRevocationStore Store { get; }

        public RevocationIndex Index { get; } = new();

        public RevocationSynchronizer Synchronizer { get; }

        public ConcurrentBag<RevocationApplied> Applied { get; } = [];

        public static async Task<Replica> StartAsync(IRevocationStore store, TimeSpan? interval = null)
        {
            var replica = new Replica(store, interval ?? TimeSpan.FromSeconds(5));
            await replica.Synchronizer.StartAsync(CancellationToken.None);
            return replica;
        }

        public ValueTask DisposeAsync() => Synchronizer.DisposeAsync();
    }

    /// <summary>A store whose subscription only starts when the test says so: announcements before that are lost.</summary>
    private sealed class LateSubscribingStore(IRevocationStore inner) : IRevocationStore
    {
        private Action<RevocationRule>? _onAdded;
        private IAsyncDisposable? _subscription;

        public ValueTask AddAsync(RevocationRule rule, CancellationToken cancellationToken) => inner.AddAsync(rule, cancellationToken);

        public ValueTask<IReadOnlyList<RevocationRule>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public ValueTask<string> GetVersionAsync(CancellationToken cancellationToken) => inner.GetVersionAsync(cancellationToken);

        public ValueTask<IAsyncDisposable> SubscribeAsync(Action<RevocationRule> onAdded, CancellationToken cancellationToken)
        {
            _onAdded = onAdded;
            return new(new Later(this));
        }

        public async Task SubscribeNowAsync() => _subscription = await inner.SubscribeAsync(_onAdded!, CancellationToken.None);

        private sealed class Later(LateSubscribingStore store) : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => store._subscription?.DisposeAsync() ?? ValueTask.CompletedTask;
        }
    }
}
