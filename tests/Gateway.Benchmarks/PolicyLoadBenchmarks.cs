using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// What a policy (re)load costs with 10, 1,000 and 10,000 routes: <see cref="PolicyLoader.Load"/> (read, parse,
/// bind, validate) and the <see cref="PolicySnapshot"/> that compiles every route for the hot path. Paid once per
/// start or file change, never per request; it should grow about linearly, not worse.
/// </summary>
[MemoryDiagnoser]
public class PolicyLoadBenchmarks
{
    private string _folder = null!;
    private string _policyPath = null!;
    private SigningKey _key = null!;

    [Params(10, 1_000, 10_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("gateway-bench-policy-").FullName;
        _key = KeyGenerator.Create(JwsAlgorithms.Es256, "bench-es256");
        File.WriteAllText(Path.Combine(_folder, "idp.jwks.json"), _key.ToPublicJwks());
        var yaml = new StringBuilder("""
            gateway:
              audience: https://gateway.bench
              max_token_lifetime: 1h
            issuers:
              - issuer: https://idp.bench
                jwks_file: idp.jwks.json
                algorithms: [ES256]
            tiers:
              low: { risk: 1 }
            upstreams:
              crm: { destinations: [ "http://127.0.0.1:9" ] }
            routes:

            """);
        for (var i = 0; i < Routes; i++)
        {
            yaml.Append("  - id: route-").Append(i).Append('\n')
                .Append("    match: { methods: [GET], path: \"/svc").Append(i).Append("/items/{id}\" }\n")
                .Append("    upstream: crm\n    action: crm.items:read\n    resource: \"crm:item/{id}\"\n    tier: low\n");
        }

        _policyPath = Path.Combine(_folder, "gateway.yaml");
        File.WriteAllText(_policyPath, yaml.ToString());
        if (Load().Routes.Count != Routes)
        {
            throw new InvalidOperationException("The benchmark policy did not load every route.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark]
    public PolicySnapshot Load()
    {
        var policy = PolicyLoader.Load(_policyPath).GetPolicyOrThrow();
        var keys = IssuerKeyResolver.Create(policy.Issuers, httpClient: null, TimeProvider.System, NullLoggerFactory.Instance);
        var validator = new CapabilityTokenValidator(policy, keys, TimeProvider.System, NullLogger<CapabilityTokenValidator>.Instance);
        return new PolicySnapshot(policy, validator);
    }
}
