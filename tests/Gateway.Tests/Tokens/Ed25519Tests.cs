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
