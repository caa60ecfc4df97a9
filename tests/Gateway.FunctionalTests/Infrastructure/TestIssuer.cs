using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// An ES256 issuer for tests that signs whatever header and payload a test asks for, including
/// deliberately broken ones. Independent of the gateway's own minting code on purpose: a test
/// that used the code under test to build its inputs could not catch that code's mistakes.
/// </summary>
public sealed class TestIssuer : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestIssuer(string issuer = "https://idp.test", string kid = "test-es256")
    {
        Issuer = issuer;
        Kid = kid;
    }

    public string Issuer { get; }
    public string Kid { get; }
    public const string Audience = "https://gateway.test";

    public string JwksJson
    {
        get
        {
            var p = _key.ExportParameters(false);
            return new JsonObject
            {
                ["keys"] = new JsonArray(new JsonObject
                {
                    ["kty"] = "EC",
                    ["crv"] = "P-256",
                    ["kid"] = Kid,
                    ["alg"] = "ES256",
                    ["use"] = "sig",
                    ["x"] = Base64Url(p.Q.X!),
                    ["y"] = Base64Url(p.Q.Y!),
                }),
            }.ToJsonString();
        }
    }

    /// <summary>The private key as a JWK, for a gateway that signs with this key (delegation, token exchange assertions).</summary>
    public string PrivateJwk
    {
        get
        {
            var p = _key.ExportParameters(true);
            return new JsonObject
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["kid"] = Kid,
                ["alg"] = "ES256",
                ["x"] = Base64Url(p.Q.X!),
                ["y"] = Base64Url(p.Q.Y!),
                ["d"] = Base64Url(p.D!),
            }.ToJsonString();
        }
    }

    /// <summary>A copy of the public key, for a party that verifies this issuer's signatures with its own code.</summary>
    public ECDsa PublicKey()
    {
        var copy = ECDsa.Create();
        copy.ImportParameters(_key.ExportParameters(false));
        return copy;
    }

    /// <summary>The public key's SEC1 point, for "HS256 signed with the public key" attacks.</summary>
    public byte[] PublicKeyBytes => _key.ExportSubjectPublicKeyInfo();

    /// <summary>A valid capability token's claims; tests edit the returned object.</summary>
    public JsonObject Claims(string action = "crm.customers:read", string resource = "crm:customer/42", string sub = "user:alice", string agent = "agent:planner", TimeSpan? ttl = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new JsonObject
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["sub"] = sub,
            ["act"] = new JsonObject { ["sub"] = agent },
            ["client_id"] = "agent-runtime",
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now,
            ["exp"] = now + (long)(ttl ?? TimeSpan.FromMinutes(10)).TotalSeconds,
            ["authorization_details"] = new JsonArray(new JsonObject
            {
                ["type"] = "agent_capability",
                ["actions"] = new JsonArray(action),
                ["resources"] = new JsonArray(resource),
            }),
        };
    }

    public JsonObject Header(string alg = "ES256", string typ = "at+jwt") => new()
    {
        ["alg"] = alg,
        ["typ"] = typ,
        ["kid"] = Kid,
    };

    public string Mint(JsonObject? claims = null, JsonObject? header = null) => Sign(header ?? Header(), claims ?? Claims());

    public string Sign(JsonObject header, JsonObject claims)
    {
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>An HS256 token whose HMAC key is the issuer's public key: the classic algorithm-confusion attack.</summary>
    public string MintHs256WithPublicKey(JsonObject claims)
    {
        var header = Header("HS256");
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(JwksJson), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(mac);
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    public void Dispose() => _key.Dispose();

    internal static string Pretty(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
