using System.Globalization;
using System.Net;
using Gateway.Budgets;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Redis;
using Gateway.Redis.Budgets;
using Gateway.Redis.Revocation;
using Gateway.Revocation;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Gateway.FunctionalTests.Deployment;

/// <summary>
/// The Redis deployments docs/deploy.md offers, for real: a 3-master Redis Cluster and a Sentinel
/// set, started on loopback, reached through <see cref="GatewayRedisConnection"/> with the same
/// configuration strings the Helm chart puts in Gateway__Store__Redis, running the budget script.
/// </summary>
public sealed class RedisTopologyTests
{
    private readonly ITestOutputHelper _output;

    public RedisTopologyTests(ITestOutputHelper output) => _output = output;

    [RedisClusterFact]
    public async Task ChargeAsync_OnThreeMasterCluster_RunsEachChargeInOneSlotAndSpreadsSubjectsOverEveryMaster()
    {
        await using var cluster = await RedisCluster.StartAsync(masters: 3);
        var slots = await cluster.SlotsPerNodeAsync();
        Assert.Equal(3, slots.Count);
        Assert.Equal(16384, slots.Values.Sum());

        // Given one node, the client finds the other two masters by itself.
        await using var connection = await GatewayRedisConnection.ConnectAsync(cluster.ConfigurationString);
        var masters = connection.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        Assert.Equal(3, masters.Count);
        Assert.All(masters, m => Assert.Equal(ServerType.Cluster, m.ServerType));

        var store = new RedisBudgetStore(connection);
        const int Subjects = 120;
        var charges = Enumerable.Range(0, Subjects).Select(i => new BudgetCharge
        {
            Subject = $"user:{i}",
            Agent = "agent:planner",
            Jti = $"jti-{i}",
            // Three keys beyond the risk account: the token and two ancestors, all in one script call.
            Ancestors = [$"jti-{i}-parent", $"jti-{i}-root"],
            MaxSteps = 2,
            TokenExpires = DateTimeOffset.UtcNow.AddHours(1),
            Risk = 3,
            RiskLimit = 100,
            RiskWindow = TimeSpan.FromHours(1),
            DefaultSteps = 50,
        }).ToList();

        // Each charge would fail with CROSSSLOT if its keys were in different slots.
        foreach (var charge in charges)
        {
            var result = await store.ChargeAsync(charge, CancellationToken.None);
            Assert.Equal(BudgetOutcome.Allowed, result.Outcome);
            Assert.Equal(1, result.StepsRemaining);
            Assert.Equal(97, result.RiskRemaining);
        }

        // Every key of one charge sits on one master; the subjects are spread over all three.
        var keysPerMaster = new Dictionary<EndPoint, List<string>>();
        foreach (var master in masters)
        {
            var keys = new List<string>();
            await foreach (var key in master.KeysAsync(pattern: "*"))
            {
                keys.Add(key!);
            }

            keysPerMaster[master.EndPoint] = keys;
        }

        Assert.Equal(Subjects * 4, keysPerMaster.Values.Sum(k => k.Count));
        Assert.All(keysPerMaster, pair => Assert.True(pair.Value.Count > 0, $"no budget keys on master {pair.Key}"));
        var mastersPerTag = keysPerMaster
            .SelectMany(pair => pair.Value.Select(key => (Tag: HashTag(key), Master: pair.Key)))
            .GroupBy(k => k.Tag)
            .ToList();
        Assert.Equal(Subjects, mastersPerTag.Count);
        Assert.All(mastersPerTag, group =>
        {
            Assert.Equal(4, group.Count());
            Assert.Single(group.Select(g => g.Master).Distinct());
        });

        // Reads follow the same slot; a second charge exhausts the token, a third is refused.
        var first = charges[0];
        Assert.Equal(BudgetOutcome.Allowed, (await store.ChargeAsync(first, CancellationToken.None)).Outcome);
        var refused = await store.ChargeAsync(first, CancellationToken.None);
        Assert.Equal(BudgetOutcome.StepLimitExceeded, refused.Outcome);
        var snapshot = await store.GetAsync(first.Subject, first.Agent, first.Jti, CancellationToken.None);
        Assert.Equal(2, snapshot.StepsUsed);
        Assert.Equal(6, snapshot.RiskUsed);

        _output.WriteLine("slots per node: " + string.Join(", ", slots.Select(s => $"{s.Key}={s.Value}")));
        _output.WriteLine("budget keys per master: " + string.Join(", ", keysPerMaster.Select(p => $"{p.Key}={p.Value.Count}")));
    }

    [RedisClusterFact]
    public async Task ChargeAsync_OnClusterFromTwoReplicas_AllowsExactlyMaxSteps()
    {
        await using var cluster = await RedisCluster.StartAsync(masters: 3);

        // Two multiplexers are two gateway replicas, each given a different seed node.
        await using var replicaA = await GatewayRedisConnection.ConnectAsync(cluster.Nodes[0].ConnectionString);
        await using var replicaB = await GatewayRedisConnection.ConnectAsync(cluster.Nodes[2].ConnectionString);
        var stores = new[] { new RedisBudgetStore(replicaA), new RedisBudgetStore(replicaB) };
        var charge = new BudgetCharge
        {
            Subject = "user:" + Guid.NewGuid().ToString("N"),
            Agent = "agent:planner",
            Jti = "jti-" + Guid.NewGuid().ToString("N"),
            MaxSteps = 7,
            TokenExpires = DateTimeOffset.UtcNow.AddHours(1),
            Risk = 1,
            RiskLimit = 1_000,
            RiskWindow = TimeSpan.FromHours(1),
            DefaultSteps = 50,
        };

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            Task.Run(() => stores[i % 2].ChargeAsync(charge, CancellationToken.None).AsTask())));

        Assert.Equal(7, results.Count(r => r.IsAllowed));
        Assert.Equal(7, (await stores[1].GetAsync(charge.Subject, charge.Agent, charge.Jti, CancellationToken.None)).StepsUsed);
    }

    [RedisClusterFact]
    public async Task RevocationStore_OnThreeMasterCluster_AddsListsAndAnnouncesRules()
    {
        await using var cluster = await RedisCluster.StartAsync(masters: 3);
        await using var replicaA = await GatewayRedisConnection.ConnectAsync(cluster.Nodes[0].ConnectionString);
        await using var replicaB = await GatewayRedisConnection.ConnectAsync(cluster.Nodes[1].ConnectionString);
        var writer = new RedisRevocationStore(replicaA);
        var reader = new RedisRevocationStore(replicaB);
        var announced = new TaskCompletionSource<RevocationRule>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await reader.SubscribeAsync(rule => announced.TrySetResult(rule), CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var rules = Enumerable.Range(0, 20).Select(i => new RevocationRule
        {
            Id = RevocationRule.NewId(),
            Kind = (RevocationKind)(i % 4),
            Value = $"value-{i}-{Guid.NewGuid():N}",
            Reason = "cluster test",
            CreatedAt = now,
            ExpiresAt = now.AddHours(1),
        }).ToList();

        // The add script touches the rule, the index and the version in one call: CROSSSLOT would fail it
        // unless every key shares the {revocations} hash tag.
        foreach (var rule in rules)
        {
            await writer.AddAsync(rule, CancellationToken.None);
        }

        var listed = await reader.ListAsync(CancellationToken.None);
        var first = await announced.Task.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(rules.Select(r => r.Id).Order(), listed.Select(r => r.Id).Order());
        Assert.Contains(rules, r => r.Id == first.Id);
    }

    [RedisClusterFact]
    public async Task Cluster_ScriptWithKeysInTwoSlots_IsRefused_WhichIsWhyChargesShareAHashTag()
    {
        // The counter-example: without a common hash tag, a multi-key script is refused on a
        // cluster. The budget keys above share one tag, so this never happens to a charge.
        await using var cluster = await RedisCluster.StartAsync(masters: 3);
        await using var connection = await GatewayRedisConnection.ConnectAsync(cluster.ConfigurationString);
        var database = connection.GetDatabase();

        // StackExchange.Redis refuses it before sending; Redis itself would answer CROSSSLOT.
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            database.ScriptEvaluateAsync("return 1", [(RedisKey)"budget:a", (RedisKey)"budget:b"]));

        _output.WriteLine(error.Message);
        Assert.Contains("slot", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, (long)await database.ScriptEvaluateAsync("return 1", [(RedisKey)"{s}:a", (RedisKey)"{s}:b"]));
    }

    [Fact]
    public async Task ChargeAsync_ThroughSentinelWithServiceName_RunsOnTheMaster()
    {
        await using var sentinel = await RedisSentinel.StartAsync("gateway-budgets");

        // The string the chart builds from redis.configuration plus the password Secret.
        await using var connection = await GatewayRedisConnection.ConnectAsync(sentinel.ConfigurationString);
        var store = new RedisBudgetStore(connection);
        var charge = new BudgetCharge
        {
            Subject = "user:alice",
            Agent = "agent:planner",
            Jti = "jti-sentinel",
            MaxSteps = 3,
            TokenExpires = DateTimeOffset.UtcNow.AddHours(1),
            Risk = 5,
            RiskLimit = 100,
            RiskWindow = TimeSpan.FromHours(1),
            DefaultSteps = 50,
        };

        var result = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, result.Outcome);
        Assert.True(await store.PingAsync(CancellationToken.None));
        Assert.Contains(connection.GetEndPoints(), e => e is IPEndPoint ip && ip.Port == sentinel.Master.Port);

        // The keys are on the master the sentinel named.
        await using var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{sentinel.Master.Port.ToString(CultureInfo.InvariantCulture)},password={sentinel.Password}");
        Assert.Equal(2, await direct.GetServer(direct.GetEndPoints()[0]).DatabaseSizeAsync());
        Assert.Equal(2, (await store.GetAsync(charge.Subject, charge.Agent, charge.Jti, CancellationToken.None)).StepsRemaining);
    }

    private static string HashTag(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var close = key.IndexOf('}', open + 1);
        return key[(open + 1)..close];
    }
}
