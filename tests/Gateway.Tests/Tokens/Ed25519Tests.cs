using System.Text;
using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class Ed25519Tests
{
    [Fact]
    public void SignatureProvider_SignThenVerify_Verifies()
    {
        using var key = KeyGenerator.Create(JwsAlgorithms.EdDsa, "ed");
        var data = Encoding.ASCII.GetBytes("header.payload");

        var signer = key.SecurityKey.CryptoProviderFactory.CreateForSigning(key.SecurityKey, JwsAlgorithms.EdDsa);
        var signature = signer.Sign(data);
        var verifier = key.SecurityKey.CryptoProviderFactory.CreateForVerifying(key.SecurityKey, JwsAlgorithms.EdDsa);

        Assert.Equal(64, signature.Length);
        Assert.True(verifier.Verify(data, signature));
        Assert.True(verifier.Verify(data, 0, data.Length, signature, 0, signature.Length));
        data[0] ^= 1;
        Assert.False(verifier.Verify(data, signature));
        Assert.False(verifier.Verify(data, signature.AsSpan(0, 63).ToArray()));
    }

    [Fact]
    public void CryptoProvider_OtherAlgorithmsAndKeys_NotSupported()
    {
        using var ed = KeyGenerator.Create(JwsAlgorithms.EdDsa, "ed");
        using var ec = KeyGenerator.Create(JwsAlgorithms.Es256, "ec");
        var provider = ed.SecurityKey.CryptoProviderFactory.CustomCryptoProvider;

        Assert.True(provider.IsSupportedAlgorithm(JwsAlgorithms.EdDsa, ed.SecurityKey));
        Assert.False(provider.IsSupportedAlgorithm(JwsAlgorithms.Es256, ed.SecurityKey));
        Assert.False(provider.IsSupportedAlgorithm(JwsAlgorithms.EdDsa, ec.SecurityKey));
    }

    [Fact]
    public void CreateForSigning_PublicKeyOnly_Throws()
    {
        using var key = KeyGenerator.Create(JwsAlgorithms.EdDsa, "ed");
        var jwks = IssuerKeySet.Parse(Encoding.UTF8.GetBytes(key.ToPublicJwks()), out _);
        Assert.True(jwks.TryGetKey("ed", out var publicKey));

        Assert.ThrowsAny<Exception>(() => publicKey.SecurityKey.CryptoProviderFactory.CreateForSigning(publicKey.SecurityKey, JwsAlgorithms.EdDsa));
    }

    [Fact]
    public async Task ValidateAsync_EdDsaTokenFromTheMinter_Valid()
    {
        var issuer = new TestIssuer(algorithm: JwsAlgorithms.EdDsa);
        var gateway = new TestGateway(issuer);
        var minted = new TokenMinter(issuer.Key, gateway.Time).Mint(new MintRequest
        {
            Issuer = issuer.Issuer,
            Audience = TestIssuer.Audience,
            Subject = "user:alice",
            Agent = "agent:a",
            Actions = ["crm.customers:read"],
            Resources = ["crm:customer/42"],
            Ttl = TimeSpan.FromMinutes(5),
        });

        var token = await gateway.AssertValidAsync(minted);

        Assert.Equal("agent:a", token.Agent);
    }

    [Theory]
    [InlineData(JwsAlgorithms.Ed25519, JwsAlgorithms.EdDsa)]
    [InlineData(JwsAlgorithms.EdDsa, JwsAlgorithms.Ed25519)]
    [InlineData(JwsAlgorithms.Ed25519, JwsAlgorithms.Ed25519)]
    public async Task ValidateAsync_EitherEd25519Name_IssuerListingTheOther_Valid(string tokenAlgorithm, string issuerAllows)
    {
        // The key's JWK declares the token's spelling; the policy lists the other one (RFC 9864 renamed EdDSA).
        var issuer = new TestIssuer(algorithm: tokenAlgorithm);
        var gateway = new TestGateway([issuer.Settings(algorithms: [issuerAllows])], [issuer]);

        var minted = issuer.Mint(gateway.Now);

        var token = await gateway.AssertValidAsync(minted);

        using var header = System.Text.Json.JsonDocument.Parse(Base64UrlDecode(minted.Split('.')[0]));
        Assert.Equal(tokenAlgorithm, header.RootElement.GetProperty("alg").GetString());
        Assert.Equal("user:alice", token.Subject);
    }

    [Fact]
    public async Task ValidateAsync_Ed25519HeaderOnAKeyWhoseJwkSaysEdDsa_Valid()
    {
        var issuer = new TestIssuer(algorithm: JwsAlgorithms.EdDsa);
        var gateway = new TestGateway([issuer.Settings(algorithms: [JwsAlgorithms.EdDsa])], [issuer]);

        await gateway.AssertValidAsync(issuer.Mint(gateway.Now, header: h => h["alg"] = JwsAlgorithms.Ed25519));
    }

    [Fact]
    public async Task ValidateAsync_Ed25519Token_IssuerAllowingOnlyEs256_Refused()
    {
        var issuer = new TestIssuer(algorithm: JwsAlgorithms.Ed25519);
        var gateway = new TestGateway([issuer.Settings(algorithms: [JwsAlgorithms.Es256])], [issuer]);

        var result = await gateway.Validator.ValidateAsync(issuer.Mint(gateway.Now), CancellationToken.None);

        Assert.False(result.IsValid);
        Assert.Equal("algorithm_not_allowed", result.Failure!.Reason);
    }

    [Fact]
    public void KeyGenerator_Ed25519_WritesTheFullySpecifiedNameInTheJwk()
    {
        var pair = KeyGenerator.Generate(JwsAlgorithms.Ed25519, "ed");

        var jwk = System.Text.Json.Nodes.JsonNode.Parse(pair.PublicJwks)!["keys"]![0]!;
        Assert.Equal("Ed25519", (string?)jwk["alg"]);
        Assert.Equal("OKP", (string?)jwk["kty"]);
        Assert.Equal("Ed25519", (string?)jwk["crv"]);
    }

    private static byte[] Base64UrlDecode(string part) => System.Buffers.Text.Base64Url.DecodeFromChars(part);

    [Fact]
    public void Jwk_PrivateKeyWhosePublicPartDoesNotMatch_Refused()
    {
        using var a = KeyGenerator.Create(JwsAlgorithms.EdDsa, "ed");
        using var b = KeyGenerator.Create(JwsAlgorithms.EdDsa, "ed");
        var aJwk = System.Text.Json.Nodes.JsonNode.Parse(a.ToPrivateJwk())!;
        var bJwk = System.Text.Json.Nodes.JsonNode.Parse(b.ToPrivateJwk())!;
        aJwk["x"] = (string?)bJwk["x"];

        Assert.Throws<FormatException>(() => SigningKey.FromJwk(aJwk.ToJsonString()));
    }
}
