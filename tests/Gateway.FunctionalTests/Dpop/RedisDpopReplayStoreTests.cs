using Gateway.Dpop;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Redis;
using Gateway.Redis.Dpop;
using StackExchange.Redis;

namespace Gateway.FunctionalTests.Dpop;

public sealed class RedisDpopReplayStoreTests(RedisFixture redis) : DpopReplayStoreContractTests, IClassFixture<RedisFixture>
{
    private string _prefix = "";

    protected override IDpopReplayStore CreateStore()
    {
        // A prefix per store keeps tests apart on the one shared server, and lets a test list its own keys.
        _prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        return new RedisDpopReplayStore(redis.Connection, _prefix);
    }

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Fact]
    public async Task TryAcceptAsync_Accepted_StoresOneKeyWithTheLifetimeAsTtl()
    {
        var store = CreateStore();

        await store.TryAcceptAsync(Thumbprint, NewJti(), TimeSpan.FromSeconds(65), CancellationToken.None);

        var server = redis.Connection.GetServer(redis.Server.ConnectionString);
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: _prefix + "*"))
        {
            keys.Add(key);
        }

        var only = Assert.Single(keys);
        Assert.Matches("^t[0-9a-f]{12}:dpop:\\{[0-9a-f]{32}\\}$", (string)only!);
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(only);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(65));
    }

    [Fact]
    public async Task TryAcceptAsync_TwoReplicasOnOneRedis_AcceptAProofOnce()
    {
        // Two multiplexers are two gateway replicas: nothing is shared between them but Redis.
        await using var second = await GatewayRedisConnection.ConnectAsync(redis.Server.ConnectionString);
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        var replicaA = new RedisDpopReplayStore(redis.Connection, prefix);
        var replicaB = new RedisDpopReplayStore(second, prefix);
        var jti = NewJti();

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? replicaA : replicaB).TryAcceptAsync(Thumbprint, jti, TimeSpan.FromSeconds(65), CancellationToken.None).AsTask())));

        Assert.Equal(1, results.Count(accepted => accepted));
    }

    [Fact]
    public async Task TryAcceptAsync_RedisDown_ThrowsUnavailable()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisDpopReplayStore(connection);
        await server.KillAsync();

        await Assert.ThrowsAsync<DpopReplayStoreUnavailableException>(() => store.TryAcceptAsync(Thumbprint, NewJti(), TimeSpan.FromSeconds(65), CancellationToken.None).AsTask());
    }
}
