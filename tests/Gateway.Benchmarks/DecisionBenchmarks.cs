using BenchmarkDotNet.Attributes;
using Gateway.Budgets;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Revocation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

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
    private AuthorizationEvaluator _charging = null!;
    private CompiledRoute _customerRoute = null!;
    private CompiledRoute _noteRoute = null!;
    private DefaultHttpContext _customerRequest = null!;
    private DefaultHttpContext _noteRequest = null!;
    private RevocationIndex _revocations = null!;

    [GlobalSetup]
    public void Setup()
    {
        _gateway = new BenchmarkGateway();
        // Checks 1-8 alone, and checks 1-11 with the in-memory budget store (the embedded default): the token
        // carries cap.max_steps = int.MaxValue and the policy a risk limit of 10^9, so a benchmark loop
        // never exhausts them (the Redis store's round trip is measured by the load harness).
        _evaluator = new AuthorizationEvaluator(TimeProvider.System, budgets: null);
        _revocations = new RevocationIndex(TimeProvider.System);
        var store = new InMemoryBudgetStore(timeProvider: TimeProvider.System);
        _charging = new AuthorizationEvaluator(TimeProvider.System, new BudgetCharger(store, store, NullLogger<BudgetCharger>.Instance));
        var token = _gateway.Mint();
        _customerRoute = _gateway.Snapshot.Routes[BenchmarkGateway.CustomerRoute];
        _noteRoute = _gateway.Snapshot.Routes[BenchmarkGateway.NoteRoute];
        _customerRequest = BenchmarkGateway.Request("/crm/customers/42", token, ("customerId", "42"));
        _noteRequest = BenchmarkGateway.Request("/crm/customers/42/notes/7", token, ("customerId", "42"), ("noteId", "7"));

        // The first call validates the signature and fills the cache; every measured call is a hit.
        foreach (var (request, route, evaluator) in new[] { (_customerRequest, _customerRoute, _evaluator), (_noteRequest, _noteRoute, _evaluator), (_customerRequest, _customerRoute, _charging) })
        {
            var decision = Evaluate(request, route, evaluator);
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

    /// <summary>Checks 1-11: the one-placeholder decision plus the step and risk charge in the in-memory store.</summary>
    [Benchmark]
    public AuthorizationDecision CachedToken_OnePlaceholder_WithBudgetCharge() => Evaluate(_customerRequest, _customerRoute, _charging);

    /// <summary>The baseline plus what the middleware then does for a forwarded call: note it for the let-through metric.</summary>
    [Benchmark]
    public AuthorizationDecision CachedToken_OnePlaceholder_ThenRecordAllowed()
    {
        var decision = Evaluate(_customerRequest, _customerRoute);
        _revocations.RecordAllowed(decision.Token!);
        return decision;
    }

    private AuthorizationDecision Evaluate(HttpContext context, CompiledRoute route) => Evaluate(context, route, _evaluator);

    private static AuthorizationDecision Evaluate(HttpContext context, CompiledRoute route, AuthorizationEvaluator evaluator)
    {
        // A cached token and the in-memory store complete synchronously; the await path is only for a cache miss.
        var pending = evaluator.EvaluateAsync(context, route);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }
}
