using System.Diagnostics;
using System.Globalization;
using Gateway.Budgets;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Redis;
using Gateway.Redis.Budgets;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Gateway.FunctionalTests.Budgets;

public sealed class RedisBudgetStoreTests : BudgetStoreContractTests, IClassFixture<RedisFixture>
{
    private readonly RedisFixture _redis;
    private readonly ITestOutputHelper _output;
    private readonly Dictionary<IBudgetStore, string> _prefixes = [];

    public RedisBudgetStoreTests(RedisFixture redis, ITestOutputHelper output)
    {
        _redis = redis;
        _output = output;
    }

    protected override DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    // Windows are aligned to whole seconds, so 1 s would leave too little room inside one window on a busy machine.
    protected override TimeSpan ShortWindow => TimeSpan.FromSeconds(2);

    protected override IBudgetStore CreateStore(BudgetStoreOptions? options = null)
    {
        // A prefix per store keeps tests apart on the one shared server, and lets a test list its own keys.
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        options = (options ?? new BudgetStoreOptions()) with { KeyPrefix = prefix };
        var store = new RedisBudgetStore(_redis.Connection, options);
        _prefixes[store] = prefix;
        return store;
    }

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    protected override async Task<int> CountAccountsAsync(IBudgetStore store) => (await KeysAsync(_prefixes[store])).Count;

    [Fact]
    public async Task ChargeAsync_EveryKey_CarriesItsTtl()
    {
        var store = CreateStore(new BudgetStoreOptions { ExpiryGrace = TimeSpan.FromMinutes(5) });
        var charge = NewCharge() with { TokenExpires = Now.AddMinutes(10), Ancestors = [NewJti()], RiskWindow = TimeSpan.FromHours(24) };

        await store.ChargeAsync(charge, CancellationToken.None);

        var db = _redis.Connection.GetDatabase();
        var keys = await KeysAsync(_prefixes[store]);
        Assert.Equal(3, keys.Count);
        var hashTags = keys.Select(k => ((string)k!).Split('{', '}')[1]).Distinct();
        Assert.Single(hashTags);
        foreach (var key in keys)
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.NotNull(ttl);
            if (((string)key!).Contains(":steps:", StringComparison.Ordinal))
            {
                // The token's expiry plus the grace; the ancestor opened by this child lives as long.
                Assert.InRange(ttl.Value, TimeSpan.FromMinutes(14.9), TimeSpan.FromMinutes(15));
            }
            else
            {
                Assert.Contains(":risk:", (string)key!, StringComparison.Ordinal);
                Assert.InRange(ttl.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(24));
            }
        }
    }

    [Fact]
    public async Task ChargeAsync_TwoReplicasOnOneRedis_AllowExactlyN()
    {
        // Two multiplexers are two gateway replicas: nothing is shared between them but Redis.
        await using var second = await GatewayRedisConnection.ConnectAsync(_redis.Server.ConnectionString);
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        var options = new BudgetStoreOptions { KeyPrefix = prefix };
        var replicaA = new RedisBudgetStore(_redis.Connection, options);
        var replicaB = new RedisBudgetStore(second, options);
        var charge = NewCharge(maxSteps: 7);

        var tasks = Enumerable.Range(0, 100).Select(i =>
            Task.Run(() => (i % 2 == 0 ? replicaA : replicaB).ChargeAsync(charge, CancellationToken.None).AsTask()));
        var results = await Task.WhenAll(tasks);

        Assert.Equal(7, results.Count(r => r.IsAllowed));
        Assert.Equal(7, (await replicaB.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None)).StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_TwoHundredConcurrentCallsAcrossTwoReplicas_CoalescedAllowExactlyN()
    {
        // The coalesced path: calls that arrive while one is on the wire go out together in one script
        // call. Four sibling tokens share a parent whose 50 steps are the tightest limit, and a second
        // token of their own has 30: of 200 calls racing through two replicas exactly 50 + 30 pass, the
        // refused leave nothing behind, and fewer script calls than charges prove the calls were merged.
        await using var server = await RedisServer.StartAsync();
        await using var first = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        await using var second = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var options = new BudgetStoreOptions { KeyPrefix = "exact:", CoalesceCharges = true };
        var replicas = new[] { new RedisBudgetStore(first, options), new RedisBudgetStore(second, options) };
        var parent = NewJti();
        var sibling = NewCharge(maxSteps: 1_000, riskLimit: 10_000) with { DefaultSteps = 50 };
        var children = Enumerable.Range(0, 4).Select(_ => sibling with { Jti = NewJti(), Ancestors = [parent] }).ToArray();
        var own = sibling with { Jti = NewJti(), MaxSteps = 30 };
        await replicas[0].ChargeAsync(sibling with { Jti = NewJti(), Subject = "user:warm" }, CancellationToken.None); // loads the script
        var before = await CommandCallsAsync(server);

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            await start.Task;
            var charge = i % 5 == 4 ? own : children[i % 4];
            return (Charge: charge, Result: await replicas[i % 2].ChargeAsync(charge, CancellationToken.None));
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(tasks);
        var after = await CommandCallsAsync(server);

        var childResults = results.Where(r => r.Charge.Jti != own.Jti).ToArray();
        Assert.Equal(50, childResults.Count(r => r.Result.IsAllowed));
        Assert.All(childResults.Where(r => !r.Result.IsAllowed), r =>
        {
            Assert.Equal(BudgetOutcome.StepLimitExceeded, r.Result.Outcome);
            Assert.Equal(parent, r.Result.ExhaustedJti);
        });
        Assert.Equal(30, results.Count(r => r.Charge.Jti == own.Jti && r.Result.IsAllowed));
        Assert.Equal(50, (await replicas[1].GetAsync(sibling.Subject, Agent, parent, CancellationToken.None)).StepsUsed);
        Assert.Equal(30, (await replicas[0].GetAsync(sibling.Subject, Agent, own.Jti, CancellationToken.None)).StepsUsed);
        var childSteps = 0;
        foreach (var child in children)
        {
            childSteps += (await replicas[1].GetAsync(sibling.Subject, Agent, child.Jti, CancellationToken.None)).StepsUsed ?? 0;
        }

        Assert.Equal(50, childSteps);
        Assert.Equal(80, (await replicas[0].GetAsync(sibling.Subject, Agent, null, CancellationToken.None)).RiskUsed);
        var scriptCalls = Delta(before, after, "evalsha") + Delta(before, after, "eval");
        Assert.InRange(scriptCalls, 2, 199);
        _output.WriteLine($"200 charges through two replicas in {scriptCalls} script calls");
    }

    [Fact]
    public async Task ChargeAsync_AllowedCall_IsOneEvalshaRoundTrip()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisBudgetStore(connection);
        var charge = NewCharge(maxSteps: 1_000, riskLimit: 1_000) with { Ancestors = [NewJti(), NewJti()], DefaultSteps = 1_000 };
        await store.ChargeAsync(charge, CancellationToken.None); // the first call sends the script text (EVAL)

        const int Calls = 200;
        var statsBefore = await CommandCallsAsync(server);
        var operationsBefore = connection.OperationCount;
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < Calls; i++)
        {
            Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);
        }

        stopwatch.Stop();
        var operations = connection.OperationCount - operationsBefore;
        var statsAfter = await CommandCallsAsync(server);

        Assert.Equal(Calls, Delta(statsBefore, statsAfter, "evalsha"));
        Assert.Equal(0, Delta(statsBefore, statsAfter, "eval"));
        Assert.Equal(Calls, operations);
        _output.WriteLine($"{Calls} sequential charges (token + 2 ancestors): {operations} client operations, "
            + $"{Delta(statsBefore, statsAfter, "evalsha")} EVALSHA, {stopwatch.Elapsed.TotalMilliseconds / Calls:F3} ms per charge");
    }

    [Fact]
    public async Task ChargeAsync_ScriptCacheFlushed_LoadsTheScriptAgainAndChargesOnce()
    {
        // A restarted Redis has an empty script cache: EVALSHA answers NOSCRIPT, and the charge must still
        // happen, once, not fail or count twice.
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisBudgetStore(connection);
        var charge = NewCharge(maxSteps: 10);

        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);
        Assert.StartsWith("+OK", await server.ExecuteAsync("SCRIPT", "FLUSH"), StringComparison.Ordinal);
        var before = await CommandCallsAsync(server);
        var second = await store.ChargeAsync(charge, CancellationToken.None);
        var third = await store.ChargeAsync(charge, CancellationToken.None);
        var after = await CommandCallsAsync(server);

        Assert.True(second.IsAllowed);
        Assert.Equal(7, third.StepsRemaining);
        Assert.Equal(1, Delta(before, after, "eval"));
        Assert.Equal(3, (await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None)).StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_OpenAccounts_RunOnlyOneReadAndOneIncrementEach()
    {
        // Every command the script runs is Redis CPU on every allowed call: once the accounts are open
        // and the window runs, nothing but the reads and the increments may be left.
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisBudgetStore(connection);
        var charge = NewCharge(maxSteps: 1_000, risk: 2, riskLimit: 1_000) with { Ancestors = [NewJti()], DefaultSteps = 1_000 };
        await store.ChargeAsync(charge, CancellationToken.None);

        const int Calls = 20;
        var before = await CommandCallsAsync(server);
        for (var i = 0; i < Calls; i++)
        {
            Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);
        }

        var after = await CommandCallsAsync(server);
        var snapshot = await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None);

        Assert.Equal(3 * Calls, Delta(before, after, "hmget"));
        Assert.Equal(3 * Calls, Delta(before, after, "hincrby"));
        Assert.Equal(0, Delta(before, after, "hset") + Delta(before, after, "hsetnx") + Delta(before, after, "pexpire") + Delta(before, after, "pttl"));
        Assert.Equal(Calls + 1, snapshot.StepsUsed);
        Assert.Equal(2 * (Calls + 1), snapshot.RiskUsed);
    }

    [Fact]
    public async Task ChargeAsync_LaterExpiringSibling_ExtendsTheSharedAncestorOnce()
    {
        var store = CreateStore(new BudgetStoreOptions { ExpiryGrace = TimeSpan.Zero });
        var parent = NewJti();
        var shortChild = NewCharge() with { TokenExpires = Now.AddMinutes(1), Ancestors = [parent] };
        var longChild = shortChild with { Jti = NewJti(), TokenExpires = Now.AddMinutes(30) };
        var db = _redis.Connection.GetDatabase();

        await store.ChargeAsync(shortChild, CancellationToken.None);
        var parentKey = (await KeysAsync(_prefixes[store])).Single(k => ((string)k!).Contains(":steps:", StringComparison.Ordinal)
            && ((string)k!).EndsWith(BudgetKeys.Digest(parent), StringComparison.Ordinal));
        var first = await db.KeyTimeToLiveAsync(parentKey);
        await store.ChargeAsync(longChild, CancellationToken.None);
        var extended = await db.KeyTimeToLiveAsync(parentKey);
        await store.ChargeAsync(shortChild, CancellationToken.None);
        var afterShortAgain = await db.KeyTimeToLiveAsync(parentKey);

        Assert.InRange(first!.Value, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));
        Assert.InRange(extended!.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
        Assert.InRange(afterShortAgain!.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
        Assert.Equal(3, (await store.GetAsync(shortChild.Subject, Agent, parent, CancellationToken.None)).StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_OnRedisCluster_AllKeysOfAChargeShareOneSlot()
    {
        await using var server = await RedisServer.StartAsync(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
        Assert.StartsWith("+OK", await server.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", "0", "16383"), StringComparison.Ordinal);
        for (var i = 0; i < 100 && !(await server.ExecuteAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        Assert.Equal(ServerType.Cluster, connection.GetServer(server.ConnectionString).ServerType);
        var store = new RedisBudgetStore(connection);
        var charge = NewCharge(maxSteps: 2) with { Ancestors = [NewJti(), NewJti(), NewJti()] };

        // Redis Cluster refuses a script whose keys span slots (CROSSSLOT); one hash tag keeps them together.
        var results = new[]
        {
            await store.ChargeAsync(charge, CancellationToken.None),
            await store.ChargeAsync(charge, CancellationToken.None),
            await store.ChargeAsync(charge, CancellationToken.None),
        };

        Assert.Equal([BudgetOutcome.Allowed, BudgetOutcome.Allowed, BudgetOutcome.StepLimitExceeded], results.Select(r => r.Outcome));
        Assert.Equal(2, (await store.GetAsync(charge.Subject, Agent, charge.Ancestors[2], CancellationToken.None)).StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_RedisKilledMidLoad_FailsFastWithoutOverAdmissionAndRecovers()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var options = new BudgetStoreOptions();
        var store = new ResilientBudgetStore(new RedisBudgetStore(connection, options), options);
        var charge = NewCharge(maxSteps: 40);
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<(string Outcome, TimeSpan Took, bool StartedAfterKill)>();
        var killed = 0;
        using var stop = new CancellationTokenSource();

        async Task WorkerAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var startedAfterKill = Volatile.Read(ref killed) == 1;
                var took = Stopwatch.StartNew();
                string outcome;
                try
                {
                    outcome = (await store.ChargeAsync(charge, CancellationToken.None)).Outcome.ToString();
                }
                catch (BudgetStoreUnavailableException)
                {
                    outcome = "Unavailable";
                }

                outcomes.Add((outcome, took.Elapsed, startedAfterKill));

                // Keep the load steady but leave the two shared cores to the server and the test.
                await Task.Delay(2);
            }
        }

        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(WorkerAsync)).ToArray();
        await Task.Delay(500);
        await server.KillAsync();
        Volatile.Write(ref killed, 1);
        await Task.Delay(1_500);
        Assert.False(await store.PingAsync(CancellationToken.None));
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        // Every call answered, quickly, with an outcome or the one store exception: none hung, none was
        // admitted while Redis was gone, and in all no more than the token's steps were ever admitted.
        Assert.All(outcomes, o => Assert.Contains(o.Outcome, new[] { "Allowed", "StepLimitExceeded", "Unavailable" }));
        Assert.All(outcomes, o => Assert.True(o.Took < TimeSpan.FromSeconds(1), $"A call took {o.Took}."));
        Assert.Equal(charge.MaxSteps, outcomes.Count(o => o.Outcome == "Allowed"));
        Assert.DoesNotContain(outcomes, o => o.StartedAfterKill && o.Outcome != "Unavailable");
        Assert.Contains(outcomes, o => o.StartedAfterKill);

        var restartedAt = Stopwatch.StartNew();
        await server.RestartAsync();
        var recovered = await WaitUntilAsync(async () => await store.PingAsync(CancellationToken.None), TimeSpan.FromSeconds(20));
        var fresh = NewCharge(maxSteps: 3);
        BudgetResult? afterRestart = null;
        await WaitUntilAsync(
            async () =>
            {
                try
                {
                    afterRestart = await store.ChargeAsync(fresh, CancellationToken.None);
                    return true;
                }
                catch (BudgetStoreUnavailableException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(20));
        restartedAt.Stop();

        Assert.True(recovered, "Ping did not recover after Redis restarted.");
        Assert.NotNull(afterRestart);
        Assert.Equal(BudgetOutcome.Allowed, afterRestart.Outcome);
        var slowest = outcomes.Where(o => o.StartedAfterKill).Max(o => o.Took);
        _output.WriteLine($"{outcomes.Count} calls; after the kill {outcomes.Count(o => o.StartedAfterKill)} calls, slowest {slowest.TotalMilliseconds:F0} ms; "
            + $"charges succeed again {restartedAt.Elapsed.TotalSeconds:F1} s after the restart began");
    }

    [Fact]
    public async Task ChargeAsync_RedisStalls_FailsWithinTheTimeout()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var options = new BudgetStoreOptions { Timeout = TimeSpan.FromMilliseconds(200) };
        var store = new ResilientBudgetStore(new RedisBudgetStore(connection, options), options);
        var charge = NewCharge(maxSteps: 5);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        // CLIENT PAUSE holds every client's commands: the server is up but answers nothing, like a stalled Redis.
        Assert.Equal("+OK", await server.ExecuteAsync("CLIENT", "PAUSE", "1500", "ALL"));
        var took = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(charge, CancellationToken.None).AsTask());
        took.Stop();

        Assert.InRange(took.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(900));
        Assert.Contains("200 ms", failure.Message, StringComparison.Ordinal);

        // The refused charge still ran once the pause ended: a timeout can only under-admit, never over-admit.
        await Task.Delay(1_500);
        Assert.Equal(2, (await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None)).StepsUsed);
        _output.WriteLine($"stalled charge refused after {took.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task PingAsync_RedisDown_ReturnsFalseWithoutThrowing()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var store = new RedisBudgetStore(connection);
        Assert.True(await store.PingAsync(CancellationToken.None));

        await server.KillAsync();

        Assert.False(await store.PingAsync(CancellationToken.None));
        await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(NewCharge(), CancellationToken.None).AsTask());
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

    /// <summary><c>INFO commandstats</c> as command name to calls.</summary>
    private static async Task<Dictionary<string, long>> CommandCallsAsync(RedisServer server)
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (await server.ExecuteAsync("INFO", "commandstats")).Split("\r\n"))
        {
            // cmdstat_evalsha:calls=200,usec=...,...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
                var value = line[(line.IndexOf("calls=", StringComparison.Ordinal) + "calls=".Length)..].Split(',')[0];
                calls[name] = long.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    private static long Delta(Dictionary<string, long> before, Dictionary<string, long> after, string command) =>
        after.GetValueOrDefault(command) - before.GetValueOrDefault(command);

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
