using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Dpop;

/// <summary>
/// RFC 8705 certificate-bound tokens on a real TLS listener: Kestrel terminates TLS and asks for a client
/// certificate (configured the ASP.NET way, <c>Kestrel:Endpoints:...:ClientCertificateMode</c>), and a token with
/// <c>cnf.x5t#S256</c> goes through only on a connection presenting that certificate.
/// </summary>
public sealed class CertificateBoundTokenTests : IAsyncLifetime
{
    private readonly TestIssuer _issuer = new();
    private readonly TestCertificates _certificates = new();
    private readonly string _pemDirectory = Path.Combine(Path.GetTempPath(), "gateway-tests", "tls-" + Guid.NewGuid().ToString("N"));
    private UpstreamServer _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        var (certificate, key) = _certificates.WriteServerPem(_pemDirectory);
        _gateway = await TestGateway.StartAsync(_issuer, _upstream, settings: new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Tls:Url"] = "https://127.0.0.1:0",
            ["Kestrel:Endpoints:Tls:Certificate:Path"] = certificate,
            ["Kestrel:Endpoints:Tls:Certificate:KeyPath"] = key,
            ["Kestrel:Endpoints:Tls:ClientCertificateMode"] = "AllowCertificate",
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _certificates.Dispose();
        _issuer.Dispose();
        Directory.Delete(_pemDirectory, recursive: true);
    }

    [Fact]
    public async Task Get_BoundTokenWithItsCertificate_IsForwarded()
    {
        var certificate = _certificates.Client("agent-a");
        using var client = Client(certificate);
        var (path, token) = Bound("cert-ok", certificate);

        var response = await client.SendAsync(Get(path, token));

        Assert.Equal("https", _gateway.Address.Scheme);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Single(_upstream.Received, r => r.Path == path);
    }

    [Fact]
    public async Task Get_BoundTokenWithAnotherCertificate_Gets401CertificateMismatch()
    {
        var owner = _certificates.Client("agent-a");
        using var client = Client(_certificates.Client("thief"));
        var (path, token) = Bound("cert-other", owner);

        var response = await client.SendAsync(Get(path, token));

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Equal("certificate_mismatch", problem.GetProperty("reason").GetString());
        Assert.StartsWith("Bearer error=\"invalid_token\"", ProblemAssert.Challenge(response), StringComparison.Ordinal);
        Assert.DoesNotContain(_upstream.Received, r => r.Path == path);
    }

    [Fact]
    public async Task Get_BoundTokenWithoutACertificate_Gets401CertificateMismatch()
    {
        using var client = Client(certificate: null);
        var (path, token) = Bound("cert-none", _certificates.Client("agent-a"));

        var response = await client.SendAsync(Get(path, token));

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Equal("certificate_mismatch", problem.GetProperty("reason").GetString());
        Assert.DoesNotContain(_upstream.Received, r => r.Path == path);
    }

    [Fact]
    public async Task Get_SelfSignedClientCertificate_BindsAsWell()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var selfSigned = new CertificateRequest("CN=self", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        using var certificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12, "t"), "t");
        using var client = Client(certificate);
        var (path, token) = Bound("cert-self-signed", certificate);

        var response = await client.SendAsync(Get(path, token));

        Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task Get_UnboundTokenOverTls_IsForwardedWithOrWithoutCertificate()
    {
        using var withCertificate = Client(_certificates.Client("agent-a"));
        using var without = Client(certificate: null);
        var token = _issuer.Mint(_issuer.Claims(resource: "crm:customer/cert-unbound"));

        Assert.Equal(200, (int)(await withCertificate.SendAsync(Get("/crm/customers/cert-unbound", token))).StatusCode);
        Assert.Equal(200, (int)(await without.SendAsync(Get("/crm/customers/cert-unbound", token))).StatusCode);
    }

    private HttpClient Client(X509Certificate2? certificate)
    {
        var server = _certificates.Server;
        var handler = new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,

            // Trust exactly the test server's certificate, nothing else.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.RawData.AsSpan().SequenceEqual(server.RawData),
        };
        if (certificate is not null)
        {
            handler.ClientCertificates.Add(certificate);
        }

        return new HttpClient(handler) { BaseAddress = _gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    private static HttpRequestMessage Get(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return request;
    }

    private (string Path, string Token) Bound(string id, X509Certificate2 certificate)
    {
        var claims = _issuer.Claims(resource: "crm:customer/" + id);
        claims["cnf"] = new JsonObject { ["x5t#S256"] = TestIssuer.Base64Url(SHA256.HashData(certificate.RawData)) };
        return ("/crm/customers/" + id, _issuer.Mint(claims));
    }
}
