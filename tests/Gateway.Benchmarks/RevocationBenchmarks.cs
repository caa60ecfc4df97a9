using BenchmarkDotNet.Attributes;
using Gateway.Revocation;
using Gateway.Tokens;

namespace Gateway.Benchmarks;

/// <summary>
/// Check 3 on every request: <see cref="RevocationIndex.Match"/> for a token no rule matches, with 0, 1,000
/// and 100,000 rules spread over the four kinds (jti, agent, sub, client_id). It must not grow with the rule
/// count (issue 9: revocation-rule scaling).
/// </summary>
[MemoryDiagnoser]
public class RevocationBenchmarks
{
    private static readonly RevocationKind[] Kinds = [RevocationKind.Jti, RevocationKind.Agent, RevocationKind.Subject, RevocationKind.ClientId];

    private BenchmarkGateway _gateway = null!;
    private RevocationIndex _index = null!;
    private CapabilityToken _token = null!;

    [Params(0, 1_000, 100_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gateway = new BenchmarkGateway();
        var result = _gateway.Snapshot.Tokens.ValidateAsync(_gateway.Mint(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _token = result.Token ?? throw new InvalidOperationException($"The benchmark token is invalid: {result}");
        _index = new RevocationIndex(TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < Rules; i++)
        {
            var kind = Kinds[i % Kinds.Length];
            _index.Add(new RevocationRule
            {
                Id = $"rev_bench{i}",
                Kind = kind,
                Value = $"revoked:{kind}:{i}",
                Reason = "benchmark",
                CreatedAt = now,
                ExpiresAt = now.AddHours(1),
            });
        }

        if (_index.Count != Rules || _index.Match(_token) is not null)
        {
            throw new InvalidOperationException("The benchmark's revocation index is not as intended.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _gateway.Dispose();

    [Benchmark]
    public RevocationMatch? Match() => _index.Match(_token);
}
