using Gateway.Approvals;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Redis;
using Gateway.Redis.Approvals;
using StackExchange.Redis;

namespace Gateway.FunctionalTests.Approvals;

public sealed class RedisApprovalStoreTests : ApprovalStoreContractTests, IClassFixture<RedisFixture>
{
    private readonly RedisFixture _redis;
    private readonly Dictionary<IApprovalStore, string> _prefixes = [];

    public RedisApprovalStoreTests(RedisFixture redis)
    {
        _redis = redis;
    }

    protected override IApprovalStore CreateStore(ApprovalStoreOptions? options = null)
    {
        // A prefix per store keeps tests apart on the one shared server (each gets its own index and sets).
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        var store = new RedisApprovalStore(_redis.Connection, (options ?? new ApprovalStoreOptions()) with { KeyPrefix = prefix }, timeProvider: Time);
        _prefixes[store] = prefix;
        return store;
    }

    [Fact]
    public async Task CreateAsync_EveryKey_SharesOneHashTagAndCarriesATtl()
    {
        var store = CreateStore(new ApprovalStoreOptions { Retention = TimeSpan.FromMinutes(30) });
        await store.CreateAsync(NewRecord(ttl: TimeSpan.FromMinutes(15)), 10, CancellationToken.None);

        var db = _redis.Connection.GetDatabase();
        var keys = await KeysAsync(_prefixes[store]);

        Assert.Equal(4, keys.Count);
        Assert.Single(keys.Select(k => ((string)k!).Split('{', '}')[1]).Distinct());
        foreach (var key in keys)
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.NotNull(ttl);
            var expected = ((string)key!).Contains(":rec:", StringComparison.Ordinal) || ((string)key!).EndsWith(":index", StringComparison.Ordinal)
                ? TimeSpan.FromMinutes(45)
                : TimeSpan.FromMinutes(15);
            Assert.InRange(ttl.Value, expected - TimeSpan.FromSeconds(5), expected);
        }
    }

    [Fact]
    public async Task ConsumeAsync_TwoReplicasOnOneRedis_AdmitExactlyOne()
    {
        // Two multiplexers are two gateway replicas: nothing is shared between them but Redis.
        await using var second = await GatewayRedisConnection.ConnectAsync(_redis.Server.ConnectionString);
        var options = new ApprovalStoreOptions { KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":" };
        var replicaA = new RedisApprovalStore(_redis.Connection, options, timeProvider: Time);
        var replicaB = new RedisApprovalStore(second, options, timeProvider: Time);
        var record = NewRecord();
        await replicaA.CreateAsync(record, 10, CancellationToken.None);
        await replicaB.DecideAsync(record.Id, new ApprovalVerdict(true, "key", null, null), CancellationToken.None);

        var uses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? replicaA : replicaB).ConsumeAsync(record, "d" + i, CancellationToken.None).AsTask())));

        Assert.Single(uses, u => u.Outcome == ApprovalTransitionOutcome.Done);
    }

    [Fact]
    public async Task EveryScript_OnRedisCluster_RunsInOneSlot()
    {
        await using var server = await RedisServer.StartAsync(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
        Assert.StartsWith("+OK", await server.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", "0", "16383"), StringComparison.Ordinal);
        for (var i = 0; i < 100 && !(await server.ExecuteAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        Assert.Equal(ServerType.Cluster, connection.GetServer(server.ConnectionString).ServerType);
        var store = new RedisApprovalStore(connection, timeProvider: Time);
        var record = NewRecord();

        // Redis Cluster refuses a script whose keys span slots (CROSSSLOT); the one hash tag keeps them together.
        Assert.Equal(ApprovalCreateOutcome.Created, (await store.CreateAsync(record, 10, CancellationToken.None)).Outcome);
        Assert.Equal(ApprovalTransitionOutcome.Done, (await store.DecideAsync(record.Id, new ApprovalVerdict(true, "key", null, null), CancellationToken.None)).Outcome);
        Assert.Equal(ApprovalTransitionOutcome.Done, (await store.ConsumeAsync(record, "d1", CancellationToken.None)).Outcome);
        Assert.True(await store.ReleaseAsync(record, "d1", CancellationToken.None));
        Assert.Single(await store.ListAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task GetAsync_RedisDown_ThrowsTheStoreException()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisApprovalStore(connection);
        await server.KillAsync();

        await Assert.ThrowsAsync<ApprovalStoreUnavailableException>(() => store.GetAsync("x", CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ApprovalStoreUnavailableException>(() => store.CreateAsync(NewRecord(), 10, CancellationToken.None).AsTask());
    }

    private async Task<IReadOnlyList<RedisKey>> KeysAsync(string prefix)
    {
        var server = _redis.Connection.GetServer(_redis.Server.ConnectionString);
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: prefix + "*"))
        {
            keys.Add(key);
        }

        return keys;
    }
}
