using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// A real gateway setup for benchmarks, built the way <c>gateway serve</c> builds it: a policy
/// file loaded from a temporary folder, an ES256 and an EdDSA issuer key from
/// <see cref="KeyGenerator"/>, tokens from <see cref="TokenMinter"/>, and the snapshot with its
/// validator. Nothing is mocked, so the numbers are those of the hot path as deployed.
/// </summary>
public sealed class BenchmarkGateway : IDisposable
{
    public const string Issuer = "https://idp.bench";
    public const string Audience = "https://gateway.bench";
    public const string CustomerRoute = "crm-get-customer";
    public const string NoteRoute = "crm-get-note";
    public const string McpRoute = "crm-mcp";

    private const string PolicyYaml = """
        gateway:
          audience: https://gateway.bench
          max_token_lifetime: 1h
        issuers:
          - issuer: https://idp.bench
            jwks_file: idp.jwks.json
            algorithms: [ES256, EdDSA]
        tiers:
          low: { risk: 1 }
        budgets:
          steps: { default: 1000000000 }
          risk: { limit: 1000000000, window: 24h, on_exceed: deny }
        upstreams:
          crm: { destinations: [ "http://127.0.0.1:9" ] }
        routes:
          - id: crm-get-customer
            match: { methods: [GET], path: "/crm/customers/{customerId}" }
            upstream: crm
            action: crm.customers:read
            resource: "crm:customer/{customerId}"
            tier: low
          - id: crm-get-note
            match: { methods: [GET], path: "/crm/customers/{customerId}/notes/{noteId}" }
            upstream: crm
            action: crm.notes:read
            resource: "crm:customer/{customerId}/note/{noteId}"
            tier: low
          - id: crm-mcp
            match: { path: "/mcp/crm" }
            upstream: crm
            mcp:
              tools:
                get_customer: { action: crm.customers:read, resource: "crm:customer/{args.id}", tier: low }
        """;

    private readonly string _folder;
    private readonly SigningKey _es256;
    private readonly SigningKey _eddsa;

    /// <param name="tokenCacheSize">The validator's cache size; 0 makes every validation a cache miss.</param>
    public BenchmarkGateway(int tokenCacheSize = 10_000)
    {
        _folder = Directory.CreateTempSubdirectory("gateway-bench-").FullName;
        _es256 = KeyGenerator.Create(JwsAlgorithms.Es256, "bench-es256");
        _eddsa = KeyGenerator.Create(JwsAlgorithms.EdDsa, "bench-eddsa");
        File.WriteAllText(Path.Combine(_folder, "idp.jwks.json"), MergeJwks(_es256.ToPublicJwks(), _eddsa.ToPublicJwks()));
        var policyPath = Path.Combine(_folder, "gateway.yaml");
        File.WriteAllText(policyPath, PolicyYaml);

        var policy = PolicyLoader.Load(policyPath).GetPolicyOrThrow();
        var time = TimeProvider.System;
        var keys = IssuerKeyResolver.Create(policy.Issuers, httpClient: null, time, NullLoggerFactory.Instance);
        var validator = new CapabilityTokenValidator(
            policy, keys, time, NullLogger<CapabilityTokenValidator>.Instance, new TokenValidatorOptions { CacheSize = tokenCacheSize });
        Snapshot = new PolicySnapshot(policy, validator);
    }

    public PolicySnapshot Snapshot { get; }

    /// <summary>
    /// A token as an agent would carry it: read access to customers and their notes through
    /// wildcard resources, so the scope check does real pattern matching.
    /// </summary>
    /// <param name="algorithm">The issuer key's algorithm.</param>
    /// <param name="maxSteps"><c>cap.max_steps</c>; huge by default, so that a benchmark loop charging budgets never runs out.</param>
    public string Mint(string algorithm = JwsAlgorithms.Es256, int maxSteps = int.MaxValue)
    {
        var key = algorithm == JwsAlgorithms.EdDsa ? _eddsa : _es256;
        return new TokenMinter(key).Mint(new MintRequest
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = "user:alice",
            Agent = "agent:planner",
            Actions = ["crm.customers:read", "crm.notes:read"],
            Resources = ["crm:customer/*", "crm:customer/*/note/*"],
            Ttl = TimeSpan.FromMinutes(50),
            MaxSteps = maxSteps,
        });
    }

    /// <summary>A request as YARP hands it to the authorization step: method, path, route values, header.</summary>
    public static DefaultHttpContext Request(string path, string token, params (string Name, string Value)[] routeValues)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = path;
        context.Request.Headers.Authorization = "Bearer " + token;
        foreach (var (name, value) in routeValues)
        {
            context.Request.RouteValues[name] = value;
        }

        return context;
    }

    public void Dispose()
    {
        _es256.Dispose();
        _eddsa.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static string MergeJwks(params string[] sets)
    {
        var keys = new JsonArray();
        foreach (var set in sets)
        {
            foreach (var key in JsonNode.Parse(set)!["keys"]!.AsArray())
            {
                keys.Add(key!.DeepClone());
            }
        }

        return new JsonObject { ["keys"] = keys }.ToJsonString();
    }
}
