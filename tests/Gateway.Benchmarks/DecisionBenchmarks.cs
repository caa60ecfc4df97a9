using BenchmarkDotNet.Attributes;
using Gateway.Enforcement;
using Gateway.Policy;
using Microsoft.AspNetCore.Http;

namespace Gateway.Benchmarks;

/// <summary>
/// The whole authorization decision for an agent's repeated call (token cache warm): what every
/// allowed request pays in <see cref="AuthorizationEvaluator.EvaluateAsync"/>. Target: at most 5 us
/// and 1 KB allocated.
/// </summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private BenchmarkGateway _gateway = null!;
    private AuthorizationEvaluator _evaluator = null!;
    private CompiledRoute _customerRoute = null!;
    private CompiledRoute _noteRoute = null!;
    private DefaultHttpContext _customerRequest = null!;
    private DefaultHttpContext _noteRequest = null!;

    [GlobalSetup]
    public void Setup()
    {
        _gateway = new BenchmarkGateway();
        // Checks 1-8; budgets are measured against their stores (docs/budgets.md), not here, because a
        // benchmark loop would exhaust any real step budget within its first iterations.
        _evaluator = new AuthorizationEvaluator(TimeProvider.System, budgets: null);
        var token = _gateway.Mint();
        _customerRoute = _gateway.Snapshot.Routes[BenchmarkGateway.CustomerRoute];
        _noteRoute = _gateway.Snapshot.Routes[BenchmarkGateway.NoteRoute];
        _customerRequest = BenchmarkGateway.Request("/crm/customers/42", token, ("customerId", "42"));
        _noteRequest = BenchmarkGateway.Request("/crm/customers/42/notes/7", token, ("customerId", "42"), ("noteId", "7"));

        // The first call validates the signature and fills the cache; every measured call is a hit.
        foreach (var (request, route) in new[] { (_customerRequest, _customerRoute), (_noteRequest, _noteRoute) })
        {
            var decision = Evaluate(request, route);
            if (!decision.IsAllowed)
            {
                throw new InvalidOperationException($"The benchmark request was refused: {decision.ErrorCode} {decision.Detail}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _gateway.Dispose();

    /// <summary>One route value in the resource (<c>crm:customer/{customerId}</c>).</summary>
    [Benchmark(Baseline = true)]
    public AuthorizationDecision CachedToken_OnePlaceholder() => Evaluate(_customerRequest, _customerRoute);

    /// <summary>Two route values (<c>crm:customer/{customerId}/note/{noteId}</c>), matched by the second wildcard grant.</summary>
    [Benchmark]
    public AuthorizationDecision CachedToken_TwoPlaceholders() => Evaluate(_noteRequest, _noteRoute);

    private AuthorizationDecision Evaluate(HttpContext context, CompiledRoute route)
    {
        // A cached token completes synchronously; the await path is only for a cache miss.
        var pending = _evaluator.EvaluateAsync(context, route);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }
}
