using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Policy;
using Gateway.Tokens;
using Gateway.Upstreams;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Upstreams;

/// <summary>
/// Every credential kind treats a rotation the same way: content that is there but unusable keeps the previous
/// material in use (logged, never thrown onto the poll timer); a file that is gone makes the credential unavailable;
/// unusable content at start makes it unavailable.
/// </summary>
public sealed class CredentialRotationTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-rotation-").FullName;
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _logger = new();

    public static TheoryData<string> GarbageKeys =>
    [
        "not a key",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\",\"d\":\"AAAA\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
        "{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"!!\",\"e\":\"AQAB\",\"d\":\"AQAB\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k\",\"x\":\"AAAA\",\"d\":\"AAAA\"}",
        "[1, 2]",
    ];

    [Fact]
    public async Task Header_RotatedToALineBreak_KeepsThePreviousValue()
    {
        var file = Write("api.key", "key-before");
        using var credential = new HeaderCredential("crm", new HeaderAuthSettings { Name = "X-Api-Key", ValueFile = file }, _time, _logger, Interval);

        Write("api.key", "key-after\r\nX-Injected: yes");
        _time.Advance(Interval);

        var result = await credential.GetAsync(null, CancellationToken.None);
        Assert.Equal(("X-Api-Key", "key-before"), (result.HeaderName, result.HeaderValue));
        Assert.Null(credential.Problem);
        Assert.Contains(_logger.Entries, e => e.EventId == 1507);
        Assert.All(_logger.Entries, e => Assert.DoesNotContain("key-after", e.Text, StringComparison.Ordinal));

        Write("api.key", "key-after");
        _time.Advance(Interval);

        result = await credential.GetAsync(null, CancellationToken.None);
        Assert.Equal("key-after", result.HeaderValue);
    }

    [Fact]
    public async Task Header_LineBreakAtStart_Unavailable()
    {
        var file = Write("api.key", "key\nX-Injected: yes");
        using var credential = new HeaderCredential("crm", new HeaderAuthSettings { Name = "X-Api-Key", ValueFile = file }, _time, _logger, Interval);

        var result = await credential.GetAsync(null, CancellationToken.None);

        Assert.False(result.IsAvailable);
        Assert.Equal("the value for header 'X-Api-Key' (file:api.key) holds a line break", result.Failure);
        Assert.Equal(result.Failure, credential.Problem);
    }

    [Fact]
    public async Task Header_FileRemoved_Unavailable()
    {
        var file = Write("api.key", "key-before");
        using var credential = new HeaderCredential("crm", new HeaderAuthSettings { Name = "X-Api-Key", ValueFile = file }, _time, _logger, Interval);

        File.Delete(file);
        _time.Advance(Interval);

        var result = await credential.GetAsync(null, CancellationToken.None);
        Assert.Equal("secret file 'api.key' does not exist", result.Failure);
    }

    [Theory]
    [MemberData(nameof(GarbageKeys))]
    public void TokenExchange_SigningKeyRotatedToGarbage_KeepsThePreviousKey(string garbage)
    {
        using var key = KeyGenerator.Create(JwsAlgorithms.Es256, "assertions-1");
        using var credential = TokenExchange(key.ToPrivateJwk());
        Assert.Null(credential.Problem);

        Write("assertion.jwk", garbage);
        _time.Advance(Interval);

        Assert.Null(credential.Problem);
        Assert.Contains(_logger.Entries, e => e.EventId == 1507 && e.Text.Contains("'assertion.jwk' is not a private JWK", StringComparison.Ordinal));
        Assert.DoesNotContain(_logger.Entries, e => e.EventId == 1506);
    }

    [Theory]
    [MemberData(nameof(GarbageKeys))]
    public void TokenExchange_GarbageKeyAtStart_Unavailable(string garbage)
    {
        using var credential = TokenExchange(garbage);

        Assert.Equal("signing key file 'assertion.jwk' is not a private JWK", credential.Problem);
    }

    [Fact]
    public void TokenExchange_KeyFileRemoved_Unavailable()
    {
        using var key = KeyGenerator.Create(JwsAlgorithms.EdDsa, "assertions-1");
        using var credential = TokenExchange(key.ToPrivateJwk());

        File.Delete(Path.Combine(_folder, "assertion.jwk"));
        _time.Advance(Interval);

        Assert.Equal("secret file 'assertion.jwk' does not exist", credential.Problem);
    }

    [Theory]
    [InlineData("cert")]
    [InlineData("key")]
    public void ClientCertificate_FileRotatedToGarbage_KeepsThePreviousPair(string which)
    {
        using var pair = SelfSigned("gateway-client");
        using var credential = ClientCertificate(pair);
        var before = credential.Certificate!.Thumbprint;

        Write(which == "cert" ? "tls.crt" : "tls.key", "-----BEGIN " + (which == "cert" ? "CERTIFICATE" : "PRIVATE KEY") + "-----\nnot base64 at all\n-----END " + (which == "cert" ? "CERTIFICATE" : "PRIVATE KEY") + "-----\n");
        _time.Advance(Interval);

        Assert.Null(credential.Problem);
        Assert.Equal(before, credential.Certificate?.Thumbprint);
        Assert.Contains(_logger.Entries, e => e.EventId == 1507);
    }

    [Fact]
    public void ClientCertificate_GarbageAtStart_Unavailable()
    {
        Write("tls.crt", "not a certificate");
        Write("tls.key", "not a key");
        using var credential = new ClientCertificateCredential("payments", new ClientCertificateAuthSettings { CertFile = Path.Combine(_folder, "tls.crt"), KeyFile = Path.Combine(_folder, "tls.key") }, _time, _logger, Interval);

        Assert.Null(credential.Certificate);
        Assert.Equal("'tls.crt' and 'tls.key' are not a PEM certificate and its private key", credential.Problem);
    }

    [Fact]
    public void ClientCertificate_RotatedPair_IsTakenIntoUse()
    {
        using var first = SelfSigned("gateway-client");
        using var second = SelfSigned("gateway-client-rotated");
        using var credential = ClientCertificate(first);

        Write("tls.key", second.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        _time.Advance(Interval);
        Assert.Equal(first.Thumbprint, credential.Certificate?.Thumbprint);
        Write("tls.crt", second.ExportCertificatePem());
        _time.Advance(Interval);

        Assert.Equal(second.Thumbprint, credential.Certificate?.Thumbprint);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private TokenExchangeCredential TokenExchange(string jwk)
    {
        var settings = new TokenExchangeAuthSettings
        {
            TokenUrl = new Uri("https://sts.test/token"),
            ClientId = "gateway",
            ClientSecretFile = Write("sts.secret", "sts-secret"),
            Audience = "https://api.test",
            Issuer = "https://gateway.test",
            SigningKeyFile = Write("assertion.jwk", jwk),
        };
        return new TokenExchangeCredential("crm", settings, new TokenEndpointClient(new HttpClient(), _time), _time, _logger, Interval);
    }

    private ClientCertificateCredential ClientCertificate(X509Certificate2 pair)
    {
        Write("tls.key", pair.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        Write("tls.crt", pair.ExportCertificatePem());
        return new ClientCertificateCredential("payments", new ClientCertificateAuthSettings { CertFile = Path.Combine(_folder, "tls.crt"), KeyFile = Path.Combine(_folder, "tls.key") }, _time, _logger, Interval);
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }
}
