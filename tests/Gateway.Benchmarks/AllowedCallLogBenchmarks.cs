using BenchmarkDotNet.Attributes;
using Gateway.Revocation;
using Gateway.Tokens;

namespace Gateway.Benchmarks;

/// <summary>
/// The let-through record every forwarded call pays (<see cref="RevocationIndex.RecordAllowed"/>), alone and with
/// two threads writing the same ring at once, and what a revocation arriving pays to scan a full ring (off the
/// hot path). Target: a few nanoseconds and nothing allocated per call, against a decision of about a microsecond.
/// </summary>
[MemoryDiagnoser]
public class AllowedCallLogBenchmarks
{
    private const int PerThread = 100_000;

    private BenchmarkGateway _gateway = null!;
    private RevocationIndex _index = null!;
    private CapabilityToken _token = null!;
    private RevocationRule _rule = null!;

    [GlobalSetup]
    public void Setup()
    {
        _gateway = new BenchmarkGateway();
        var result = _gateway.Snapshot.Tokens.ValidateAsync(_gateway.Mint(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _token = result.Token ?? throw new InvalidOperationException($"The benchmark token is invalid: {result}");
        _index = new RevocationIndex(TimeProvider.System);
        var created = DateTimeOffset.UtcNow;
        _rule = new RevocationRule
        {
            Id = "rev_bench",
            Kind = RevocationKind.Subject,
            Value = _token.Subject,
            Reason = "benchmark",
            CreatedAt = created,
            ExpiresAt = created.AddHours(1),
        };
        for (var i = 0; i < AllowedCallLog.DefaultCapacity; i++)
        {
            _index.RecordAllowed(_token);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _gateway.Dispose();

    [Benchmark(Baseline = true)]
    public void RecordAllowed() => _index.RecordAllowed(_token);

    /// <summary>Two threads recording at once, each <see cref="PerThread"/> times: the shared position's cache line moves between cores.</summary>
    [Benchmark(OperationsPerInvoke = 2 * PerThread)]
    public void RecordAllowed_TwoThreads()
    {
        using var start = new Barrier(2);
        var other = new Thread(Write);
        other.Start();
        Write();
        other.Join();

        void Write()
        {
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                _index.RecordAllowed(_token);
            }
        }
    }

    /// <summary>A rule arriving: the whole ring scanned, every call of the same user (all match).</summary>
    [Benchmark]
    public LetThrough Find_FullRing() => _index.AllowedCalls.Find(_rule);
}
