using BenchmarkDotNet.Attributes;
using Gateway.Tokens;

namespace Gateway.Benchmarks;

/// <summary>
/// Token validation on its own: a cache hit (every repeated call) against a cache miss (the first
/// call with a token: parse, claims, signature), per algorithm. The miss is why the cache exists.
/// </summary>
[MemoryDiagnoser]
public class TokenValidationBenchmarks
{
    private BenchmarkGateway _cached = null!;
    private BenchmarkGateway _uncached = null!;
    private string _cachedEs256 = null!;
    private string _es256 = null!;
    private string _eddsa = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cached = new BenchmarkGateway();
        _uncached = new BenchmarkGateway(tokenCacheSize: 0);
        // Each setup has keys of its own, so each validates the tokens it minted.
        _cachedEs256 = _cached.Mint(JwsAlgorithms.Es256);
        _es256 = _uncached.Mint(JwsAlgorithms.Es256);
        _eddsa = _uncached.Mint(JwsAlgorithms.EdDsa);
        foreach (var (validator, token) in new[] { (_cached.Snapshot.Tokens, _cachedEs256), (_uncached.Snapshot.Tokens, _es256), (_uncached.Snapshot.Tokens, _eddsa) })
        {
            var result = Validate(validator, token);
            if (!result.IsValid)
            {
                throw new InvalidOperationException($"The benchmark token was refused: {result}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cached.Dispose();
        _uncached.Dispose();
    }

    [Benchmark(Baseline = true)]
    public TokenValidationResult CacheHit_ES256() => Validate(_cached.Snapshot.Tokens, _cachedEs256);

    [Benchmark]
    public TokenValidationResult CacheMiss_ES256() => Validate(_uncached.Snapshot.Tokens, _es256);

    [Benchmark]
    public TokenValidationResult CacheMiss_EdDSA() => Validate(_uncached.Snapshot.Tokens, _eddsa);

    private static TokenValidationResult Validate(ITokenValidator validator, string token)
    {
        var pending = validator.ValidateAsync(token, CancellationToken.None);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }
}
