using System.Text;
using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Tokens;

public sealed class JwksTests
{
    [Fact]
    public void Parse_UnusableKeys_SkippedWithReasons()
    {
        var good = JsonNode.Parse(new TestIssuer(keyId: "good").Jwks)!["keys"]![0]!;
        var p384 = good.DeepClone();
        p384["kid"] = "p384";
        p384["crv"] = "P-384";
        var encryption = good.DeepClone();
        encryption["kid"] = "enc";
        encryption["use"] = "enc";
        var noKid = good.DeepClone();
        noKid.AsObject().Remove("kid");
        var wrongAlg = good.DeepClone();
        wrongAlg["kid"] = "wrong-alg";
        wrongAlg["alg"] = "RS256";
        var offCurve = good.DeepClone();
        offCurve["kid"] = "off-curve";
        offCurve["y"] = (string?)offCurve["x"];
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(
                good.DeepClone(),
                p384,
                encryption,
                noKid,
                wrongAlg,
                offCurve,
                JsonNode.Parse("""{"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}"""),
                JsonNode.Parse("""{"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"}"""),
                JsonNode.Parse("""{"kty":"OKP","crv":"X25519","kid":"x","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}""")),
        };

        var keys = IssuerKeySet.Parse(Encoding.UTF8.GetBytes(jwks.ToJsonString()), out var skipped);

        Assert.Equal(1, keys.Count);
        Assert.True(keys.TryGetKey("good", out _));
        Assert.Equal(8, skipped.Count);
    }

    [Fact]
    public void Parse_PrivateMaterialInPublicSet_UsesPublicPartAndWarns()
    {
        var pair = KeyGenerator.Generate(JwsAlgorithms.Es256, "leaky");
        var jwks = "{\"keys\":[" + pair.PrivateJwk + "]}";

        var keys = IssuerKeySet.Parse(Encoding.UTF8.GetBytes(jwks), out var skipped);

        Assert.True(keys.TryGetKey("leaky", out var key));
        var ecdsa = Assert.IsType<Microsoft.IdentityModel.Tokens.ECDsaSecurityKey>(key.SecurityKey).ECDsa;
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => ecdsa.ExportParameters(includePrivateParameters: true));
        Assert.Contains(skipped, s => s.Contains("private", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"keys\":{}}")]
    [InlineData("nope")]
    public void Parse_NotAJwks_Throws(string json)
    {
        Assert.Throws<FormatException>(() => IssuerKeySet.Parse(Encoding.UTF8.GetBytes(json), out _));
    }

    [Fact]
    public void Parse_DuplicateKid_Throws()
    {
        var key = JsonNode.Parse(new TestIssuer(keyId: "dup").Jwks)!["keys"]![0]!;
        var jwks = new JsonObject { ["keys"] = new JsonArray(key.DeepClone(), key.DeepClone()) };

        Assert.Throws<FormatException>(() => IssuerKeySet.Parse(Encoding.UTF8.GetBytes(jwks.ToJsonString()), out _));
    }

    [Fact]
    public async Task Create_JwksFile_LoadedAtConstruction()
    {
        var issuer = new TestIssuer();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, issuer.Jwks);
            var settings = issuer.Settings() with { JwksFile = file };
            var resolver = IssuerKeyResolver.Create([settings], httpClient: null, TimeProvider.System, NullLoggerFactory.Instance);
            File.Delete(file);

            var lookup = await resolver.FindKeyAsync(issuer.Issuer, issuer.KeyId, default);
            Assert.Equal(KeyLookupStatus.Found, lookup.Status);
            Assert.Equal(KeyLookupStatus.UnknownKey, (await resolver.FindKeyAsync(issuer.Issuer, "other", default)).Status);
            Assert.Equal(KeyLookupStatus.KeysUnavailable, (await resolver.FindKeyAsync("https://other.test", issuer.KeyId, default)).Status);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("{\"keys\":[]}")]
    [InlineData("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"k\":\"c2VjcmV0\"}]}")]
    [InlineData("garbage")]
    public async Task Create_JwksFileWithoutUsableKeys_ThrowsNamingTheFile(string content)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, content);
            var settings = new IssuerSettings { Issuer = "https://idp.test", JwksFile = file };

            var error = Assert.Throws<FormatException>(() => IssuerKeyResolver.Create([settings], null, TimeProvider.System, NullLoggerFactory.Instance));
            Assert.Contains(file, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Create_IssuerWithoutKeys_Throws()
    {
        Assert.Throws<ArgumentException>(() => IssuerKeyResolver.Create([new IssuerSettings { Issuer = "https://idp.test" }], null, new FakeTimeProvider(), NullLoggerFactory.Instance));
    }

    [Fact]
    public void Create_JwksUriWithoutHttpClient_Throws()
    {
        var settings = new IssuerSettings { Issuer = "https://idp.test", JwksUri = new Uri("https://idp.test/jwks") };

        Assert.Throws<ArgumentException>(() => IssuerKeyResolver.Create([settings], null, new FakeTimeProvider(), NullLoggerFactory.Instance));
    }
}
