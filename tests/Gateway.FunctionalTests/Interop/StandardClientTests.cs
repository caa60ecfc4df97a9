using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Testing;

namespace Gateway.FunctionalTests.Interop;

/// <summary>
/// Proofs and tokens made by standard client libraries nobody here wrote (panva's npm <c>dpop</c> and
/// <c>jose</c>), through a real gateway. Those libraries write Ed25519 signatures with RFC 9864's
/// fully-specified <c>alg: "Ed25519"</c>, which the gateway takes as the <c>EdDSA</c> it always verified.
/// </summary>
public sealed class StandardClientTests : IAsyncLifetime
{
    private const string EdIssuer = "https://ed25519-idp.test";

    private readonly TestIssuer _issuer = new();
    private readonly TestDpopKey _edIssuerKey = TestDpopKey.Create("Ed25519");
    private UpstreamServer _upstream = null!;
    private TestGateway _gateway = null!;
    private TestGateway _es256Only = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        // A second issuer whose JWKS declares the polymorphic EdDSA, as older issuers publish it.
        var edJwks = _edIssuerKey.PublicJwk();
        edJwks["kid"] = "ed-1";
        edJwks["alg"] = "EdDSA";
        var edJwksPath = Path.Combine(Path.GetTempPath(), "gateway-tests", Guid.NewGuid().ToString("N") + ".jwks.json");
        Directory.CreateDirectory(Path.GetDirectoryName(edJwksPath)!);
        await File.WriteAllTextAsync(edJwksPath, new JsonObject { ["keys"] = new JsonArray(edJwks) }.ToJsonString());
        var edIssuer = $"  - issuer: {EdIssuer}\n    jwks_file: {edJwksPath}\n    algorithms: [EdDSA]";
        _gateway = await TestGateway.StartAsync(_issuer, _upstream, Policy(edIssuer, dpopAlgorithms: "[ES256, EdDSA]"));
        _es256Only = await TestGateway.StartAsync(_issuer, _upstream, Policy("", dpopAlgorithms: "[ES256]"));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _es256Only.DisposeAsync();
        await _upstream.DisposeAsync();
        _edIssuerKey.Dispose();
        _issuer.Dispose();
    }

    [Theory]
    [InlineData("Ed25519", "Ed25519")]
    [InlineData("ES256", "ES256")]
    public async Task Get_ProofFromTheDpopLibrary_IsForwarded(string keyAlgorithm, string expectedAlg)
    {
        using var key = TestDpopKey.Create(keyAlgorithm);
        var path = "/crm/customers/npm-dpop-" + keyAlgorithm;
        var token = BoundToken(key, path);
        var proof = await LibraryProofAsync(key, "GET", DpopClient.Url(_gateway, path), token);

        var response = await DpopClient.SendAsync(_gateway, HttpMethod.Get, path, token, proof);

        Assert.Equal(expectedAlg, Header(proof).GetProperty("alg").GetString());
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Single(_upstream.Received, r => r.Path == path);
    }

    [Fact]
    public async Task Get_Ed25519ProofFromTheDpopLibrary_PolicyWithoutEdDsa_Gets401NamingTheAcceptedAlgorithms()
    {
        using var key = TestDpopKey.Create("Ed25519");
        var path = "/crm/customers/npm-dpop-es256-only";
        var token = BoundToken(key, path);

        var response = await DpopClient.SendAsync(_es256Only, HttpMethod.Get, path, token, await LibraryProofAsync(key, "GET", DpopClient.Url(_es256Only, path), token));

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof");
        Assert.Equal("algorithm_not_allowed", problem.GetProperty("reason").GetString());
        Assert.EndsWith("algs=\"ES256\"", ProblemAssert.Challenge(response), StringComparison.Ordinal);
        Assert.DoesNotContain(_upstream.Received, r => r.Path == path);
    }

    [Fact]
    public async Task Get_Ed25519TokenFromJose_IssuerListingEdDsa_IsForwarded()
    {
        var path = "/crm/customers/npm-jose-ed25519";
        var claims = _issuer.Claims(resource: "crm:customer/npm-jose-ed25519");
        claims["iss"] = EdIssuer;
        var token = await NodeScript.RunAsync("jose-token.mjs", new JsonObject
        {
            ["privateJwk"] = _edIssuerKey.PrivateJwk(),
            ["alg"] = "Ed25519",
            ["kid"] = "ed-1",
            ["claims"] = claims,
        });

        var response = await _gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "Authorization", "Bearer " + token } } });

        Assert.Equal("Ed25519", Header(token).GetProperty("alg").GetString());
        Assert.Equal(200, (int)response.StatusCode);
    }

    private string BoundToken(TestDpopKey key, string path)
    {
        var claims = _issuer.Claims(resource: "crm:customer/" + path.Split('/')[^1]);
        claims["cnf"] = new JsonObject { ["jkt"] = key.Thumbprint };
        return _issuer.Mint(claims);
    }

    private static Task<string> LibraryProofAsync(TestDpopKey key, string method, string url, string token) =>
        NodeScript.RunAsync("dpop-proof.mjs", new JsonObject
        {
            ["privateJwk"] = key.PrivateJwk(),
            ["htm"] = method,
            ["htu"] = url,
            ["accessToken"] = token,
        });

    private static JsonElement Header(string jws) =>
        JsonDocument.Parse(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(jws.Split('.')[0]))).RootElement;

    private static string Policy(string extraIssuers, string dpopAlgorithms) => $$$"""
        gateway:
          audience: {{{TestIssuer.Audience}}}
          dpop:
            algorithms: {{{dpopAlgorithms}}}
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        {{{extraIssuers}}}
        tiers:
          low: { risk: 1 }
        upstreams:
          crm: { destinations: [ {{UPSTREAM}} ] }
        routes:
          - id: crm-get-customer
            match: { methods: [GET], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:read
            resource: crm:customer/{customerId}
            tier: low
        """;
}
