using Gateway.FunctionalTests.Infrastructure;
using Gateway.Mcp;
using Gateway.Redis;
using Gateway.Redis.Mcp;
using StackExchange.Redis;

namespace Gateway.FunctionalTests.Mcp;

public sealed class RedisMcpSessionStoreTests(RedisFixture redis) : McpSessionStoreContractTests, IClassFixture<RedisFixture>
{
    private string _prefix = "";

    protected override IMcpSessionStore CreateStore()
    {
        // A prefix per store keeps tests apart on the one shared server, and lets a test list its own keys.
        _prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        return new RedisMcpSessionStore(redis.Connection, _prefix);
    }

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Fact]
    public async Task BindAsync_StoresOneKeyHoldingDigestsOnly_WithTheLifetimeAsTtl()
    {
        var store = CreateStore();
        var session = "session-" + NewSessionId();

        await store.BindAsync(session, McpSessionOwner.Of("alice@example.com", "agent-1"), Lifetime, CancellationToken.None);

        var server = redis.Connection.GetServer(redis.Server.ConnectionString);
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: _prefix + "*"))
        {
            keys.Add(key);
        }

        var only = Assert.Single(keys);
        Assert.Matches("^t[0-9a-f]{12}:mcp:\\{[0-9a-f]{32}\\}$", (string)only!);
        var value = (string?)await redis.Connection.GetDatabase().StringGetAsync(only);
        Assert.Matches("^[0-9a-f]{32}$", value);
        Assert.DoesNotContain("alice", value, StringComparison.Ordinal);
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(only);
        Assert.InRange(ttl!.Value, Lifetime - TimeSpan.FromSeconds(5), Lifetime);
    }

    [Fact]
    public async Task BindAsync_TwoReplicasOnOneRedis_SeeOneOwner()
    {
        // Two multiplexers are two gateway replicas: nothing is shared between them but Redis.
        await using var second = await GatewayRedisConnection.ConnectAsync(redis.Server.ConnectionString);
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        var replicaA = new RedisMcpSessionStore(redis.Connection, prefix);
        var replicaB = new RedisMcpSessionStore(second, prefix);
        var session = NewSessionId();

        await replicaA.BindAsync(session, Alice, Lifetime, CancellationToken.None);

        Assert.Equal(Alice, await replicaB.BindAsync(session, Mallory, Lifetime, CancellationToken.None));
        Assert.Equal(Alice, await replicaB.FindAsync(session, Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task FindAsync_RedisDown_ThrowsUnavailable()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisMcpSessionStore(connection);
        await server.KillAsync();

        await Assert.ThrowsAsync<McpSessionStoreUnavailableException>(() => store.FindAsync(NewSessionId(), Lifetime, CancellationToken.None).AsTask());
    }
}
