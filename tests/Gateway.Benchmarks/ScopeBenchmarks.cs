using BenchmarkDotNet.Attributes;
using Gateway.Tokens;

namespace Gateway.Benchmarks;

/// <summary>
/// <see cref="ScopeEvaluator.IsInScope"/> against wildcard grants: a match in the first entry, a
/// match only in the last entry (every earlier entry is tried), and a refusal (all are tried).
/// </summary>
[MemoryDiagnoser]
public class ScopeBenchmarks
{
    private CapabilityToken _token = null!;

    [GlobalSetup]
    public void Setup() => _token = new CapabilityToken
    {
        Jti = "bench",
        Issuer = BenchmarkGateway.Issuer,
        Subject = "user:alice",
        Agent = "agent:planner",
        Actors = ["agent:planner"],
        IssuedAt = DateTimeOffset.UtcNow,
        Expires = DateTimeOffset.UtcNow.AddHours(1),
        Grants =
        [
            Grant(["crm.customers:read", "crm.*:list"], ["crm:customer/*", "crm:region/*"]),
            Grant(["payments.*:read"], ["payments:account/**"]),
            Grant(["crm.notes:*", "crm.customers.notes:read"], ["crm:customer/*/note/*", "crm:archive/**"]),
        ],
    };

    [Benchmark(Baseline = true)]
    public bool FirstGrant() => ScopeEvaluator.IsInScope(_token, "crm.customers:read", "crm:customer/42");

    [Benchmark]
    public bool LastGrant() => ScopeEvaluator.IsInScope(_token, "crm.notes:read", "crm:customer/42/note/7");

    [Benchmark]
    public bool NoGrant() => ScopeEvaluator.IsInScope(_token, "crm.customers:delete", "crm:customer/42");

    private static CapabilityGrant Grant(string[] actions, string[] resources, int index = 0) => new()
    {
        Index = index,
        Actions = [.. actions.Select(a => ActionPattern.TryParse(a, out var p) ? p : throw new ArgumentException(a))],
        Resources = [.. resources.Select(r => ResourcePattern.TryParse(r, out var p) ? p : throw new ArgumentException(r))],
    };
}
