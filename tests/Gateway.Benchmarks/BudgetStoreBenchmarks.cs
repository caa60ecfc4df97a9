using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Gateway.Budgets;
using Gateway.Redis;
using Gateway.Redis.Budgets;
using StackExchange.Redis;

namespace Gateway.Benchmarks;

/// <summary>
/// One budget charge, as an allowed call pays it: the in-memory store, the Redis store on a local
/// <c>redis-server</c> (one <c>EVALSHA</c> round trip), and each behind <see cref="ResilientBudgetStore"/>
/// (timeout and circuit breaker), so the resilience pipeline's own cost reads as the difference.
/// Needs <c>redis-server</c> on the PATH (tests/test.sh installs it); it is started on a free port and
/// stopped by PID.
/// </summary>
[MemoryDiagnoser]
public class BudgetStoreBenchmarks
{
    private Process? _redis;
    private IConnectionMultiplexer? _connection;
    private InMemoryBudgetStore _memory = null!;
    private ResilientBudgetStore _resilientMemory = null!;
    private RedisBudgetStore _redisStore = null!;
    private ResilientBudgetStore _resilientRedis = null!;
    private BudgetCharge _charge = null!;

    [GlobalSetup]
    public void Setup()
    {
        var port = FreePort();
        _redis = Process.Start(new ProcessStartInfo("redis-server", ["--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("redis-server did not start.");
        _redis.BeginOutputReadLine();
        _connection = Connect($"127.0.0.1:{port}");

        _memory = new InMemoryBudgetStore(timeProvider: TimeProvider.System);
        _resilientMemory = new ResilientBudgetStore(_memory);
        _redisStore = new RedisBudgetStore(_connection);
        _resilientRedis = new ResilientBudgetStore(_redisStore);
        _charge = new BudgetCharge
        {
            Subject = "user:benchmark",
            Agent = "agent:benchmark",
            Jti = "jti-benchmark",
            MaxSteps = int.MaxValue,
            TokenExpires = DateTimeOffset.UtcNow.AddHours(1),
            Ancestors = [],
            Risk = 1,
            RiskLimit = int.MaxValue,
            RiskWindow = TimeSpan.FromHours(1),
            DefaultSteps = int.MaxValue,
        };

        // Opens the accounts and loads the script, so every measured call is the steady state.
        foreach (var store in new IBudgetStore[] { _memory, _redisStore })
        {
            if (!store.ChargeAsync(_charge, CancellationToken.None).AsTask().GetAwaiter().GetResult().IsAllowed)
            {
                throw new InvalidOperationException("The benchmark charge was refused.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection?.Dispose();
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            _redis.WaitForExit();
        }

        _redis?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<BudgetResult> Memory() => _memory.ChargeAsync(_charge, CancellationToken.None).AsTask();

    [Benchmark]
    public Task<BudgetResult> Memory_Resilient() => _resilientMemory.ChargeAsync(_charge, CancellationToken.None).AsTask();

    [Benchmark]
    public Task<BudgetResult> Redis() => _redisStore.ChargeAsync(_charge, CancellationToken.None).AsTask();

    [Benchmark]
    public Task<BudgetResult> Redis_Resilient() => _resilientRedis.ChargeAsync(_charge, CancellationToken.None).AsTask();

    private static IConnectionMultiplexer Connect(string endpoint)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return GatewayRedisConnection.ConnectAsync(endpoint).GetAwaiter().GetResult();
            }
            catch (RedisConnectionException) when (attempt < 50)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
