using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class KeyGeneratorTests
{
    [Theory]
    [InlineData("ES256", "EC")]
    [InlineData("EdDSA", "OKP")]
    [InlineData("RS256", "RSA")]
    [InlineData("PS256", "RSA")]
    public void Generate_EachAlgorithm_WritesPrivateJwkAndPublicJwks(string algorithm, string kty)
    {
        var pair = KeyGenerator.Generate(algorithm, "kid-1");

        var privateJwk = JsonNode.Parse(pair.PrivateJwk)!.AsObject();
        Assert.Equal(kty, (string?)privateJwk["kty"]);
        Assert.Equal("kid-1", (string?)privateJwk["kid"]);
        Assert.Equal(algorithm, (string?)privateJwk["alg"]);
        Assert.Equal("sig", (string?)privateJwk["use"]);
        Assert.NotNull(privateJwk["d"]);

        var publicKey = Assert.Single(JsonNode.Parse(pair.PublicJwks)!["keys"]!.AsArray())!.AsObject();
        Assert.Equal(kty, (string?)publicKey["kty"]);
        Assert.Equal("kid-1", (string?)publicKey["kid"]);
        Assert.Equal(algorithm, (string?)publicKey["alg"]);
        Assert.Equal("sig", (string?)publicKey["use"]);
        foreach (var secret in new[] { "d", "p", "q", "dp", "dq", "qi" })
        {
            Assert.False(publicKey.ContainsKey(secret), secret);
        }

        Assert.DoesNotContain((string)privateJwk["d"]!, pair.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("EdDSA")]
    [InlineData("RS256")]
    [InlineData("PS256")]
    public async Task Generate_PrivateJwkRoundTrip_SignsTokensTheJwksVerifies(string algorithm)
    {
        var pair = KeyGenerator.Generate(algorithm, "round-trip");
        using var key = SigningKey.FromJwk(pair.PrivateJwk);
        var keys = IssuerKeySet.Parse(Encoding.UTF8.GetBytes(pair.PublicJwks), out var skipped);
        Assert.Empty(skipped);
        var gateway = new TestGatewayWithKeys(keys);

        var token = new TokenMinter(key, gateway.Time).Mint(gateway.Request());

        Assert.True((await gateway.Validator.ValidateAsync(token, default)).IsValid);
        Assert.Equal(pair.PrivateJwk, key.ToPrivateJwk());
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("RS256")]
    [InlineData("EdDSA")]
    public async Task FromJwk_SameKeyLoadedAgainAfterDispose_StillSigns(string algorithm)
    {
        var pair = KeyGenerator.Generate(algorithm, "reloaded");
        var keys = IssuerKeySet.Parse(Encoding.UTF8.GetBytes(pair.PublicJwks), out _);
        var gateway = new TestGatewayWithKeys(keys);
        using (var first = SigningKey.FromJwk(pair.PrivateJwk))
        {
            new TokenMinter(first, gateway.Time).Mint(gateway.Request());
        }

        using var second = SigningKey.FromJwk(pair.PrivateJwk);
        var token = new TokenMinter(second, gateway.Time).Mint(gateway.Request());

        Assert.True((await gateway.Validator.ValidateAsync(token, default)).IsValid);
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("none")]
    [InlineData("ES384")]
    [InlineData("es256")]
    public void Generate_UnsupportedAlgorithm_Throws(string algorithm)
    {
        Assert.Throws<ArgumentException>(() => KeyGenerator.Generate(algorithm, "k"));
    }

    [Fact]
    public void WriteTo_Directory_WritesBothFilesAndProtectsThePrivateOne()
    {
        var directory = Path.Combine(Path.GetTempPath(), "gateway-keys-" + Guid.NewGuid().ToString("N"));
        try
        {
            var pair = KeyGenerator.Generate(JwsAlgorithms.Es256, "k");

            var (privatePath, publicPath) = pair.WriteTo(directory, "idp");

            Assert.Equal(Path.Combine(directory, "idp-private.jwk"), privatePath);
            Assert.Equal(Path.Combine(directory, "idp.jwks.json"), publicPath);
            Assert.Equal(pair.PrivateJwk, File.ReadAllText(privatePath));
            Assert.Equal(pair.PublicJwks, File.ReadAllText(publicPath));
            Assert.NotEqual(0xEF, File.ReadAllBytes(privatePath)[0]);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(privatePath));
            }

            Assert.Throws<IOException>(() => pair.WriteTo(directory, "idp"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{"kty":"EC","crv":"P-256","kid":"k"}""")]
    [InlineData("""{"kty":"oct","k":"c2VjcmV0","kid":"k","d":"x"}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""not json""")]
    public void FromJwk_NotAUsablePrivateKey_ThrowsFormatException(string json)
    {
        Assert.Throws<FormatException>(() => SigningKey.FromJwk(json));
    }

    [Fact]
    public void FromJwk_PublicKeyOnly_ThrowsNamingTheProblem()
    {
        var pair = KeyGenerator.Generate(JwsAlgorithms.Es256, "k");
        var publicJwk = JsonNode.Parse(pair.PublicJwks)!["keys"]![0]!.ToJsonString();

        var error = Assert.Throws<FormatException>(() => SigningKey.FromJwk(publicJwk));
        Assert.Contains("public key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJwk_RsaWithoutAlg_DefaultsToRs256()
    {
        var jwk = JsonNode.Parse(KeyGenerator.Generate(JwsAlgorithms.Ps256, "r").PrivateJwk)!.AsObject();
        jwk.Remove("alg");

        using var key = SigningKey.FromJwk(jwk.ToJsonString());

        Assert.Equal(JwsAlgorithms.Rs256, key.Algorithm);
    }

    /// <summary>A validator whose one issuer uses a given key set.</summary>
    private sealed class TestGatewayWithKeys
    {
        public TestGatewayWithKeys(IssuerKeySet keys)
        {
            var policy = new Gateway.Policy.GatewayPolicy
            {
                Gateway = new Gateway.Policy.GatewaySettings { Audience = TestIssuer.Audience },
                Issuers = [new Gateway.Policy.IssuerSettings { Issuer = TestIssuer.DefaultIssuer, Algorithms = JwsAlgorithms.Supported }],
            };
            var resolver = new IssuerKeyResolver(new Dictionary<string, IJwksSource> { [TestIssuer.DefaultIssuer] = new StaticJwksSource(keys) });
            Validator = new CapabilityTokenValidator(policy, resolver, Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<CapabilityTokenValidator>.Instance);
        }

        public Microsoft.Extensions.Time.Testing.FakeTimeProvider Time { get; } = new(TestGateway.Start);

        public CapabilityTokenValidator Validator { get; }

        public MintRequest Request() => new()
        {
            Issuer = TestIssuer.DefaultIssuer,
            Audience = TestIssuer.Audience,
            Subject = "user:alice",
            Agent = "agent:a",
            Actions = ["crm.customers:read"],
            Resources = ["crm:customer/42"],
            Ttl = TimeSpan.FromMinutes(10),
        };
    }
}
