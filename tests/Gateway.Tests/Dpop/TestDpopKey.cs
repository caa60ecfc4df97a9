using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NSec.Cryptography;

namespace Gateway.Testing;

/// <summary>
/// A DPoP client key for tests, and the proofs it signs, including deliberately broken ones. Written against the
/// RFCs with the platform's primitives only, independent of the gateway's own DPoP code: a test that built its
/// proofs with the code under test could not catch that code's mistakes. Linked into both test projects.
/// </summary>
public sealed class TestDpopKey : IDisposable
{
    private readonly ECDsa? _ec;
    private readonly RSA? _rsa;
    private readonly Key? _ed;

    private TestDpopKey(string algorithm, ECDsa? ec, RSA? rsa, Key? ed)
    {
        Algorithm = algorithm;
        _ec = ec;
        _rsa = rsa;
        _ed = ed;
    }

    public string Algorithm { get; }

    public static TestDpopKey Create(string algorithm = "ES256") => algorithm switch
    {
        "ES256" => new(algorithm, ECDsa.Create(ECCurve.NamedCurves.nistP256), null, null),
        "RS256" or "PS256" => new(algorithm, null, RSA.Create(2048), null),
        "EdDSA" or "Ed25519" => new(algorithm, null, null, Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
    };

    /// <summary>The public JWK, members in RFC 7638 order (a fresh object each time, for tests to edit).</summary>
    public JsonObject PublicJwk()
    {
        if (_ec is not null)
        {
            var p = _ec.ExportParameters(false);
            return new JsonObject { ["crv"] = "P-256", ["kty"] = "EC", ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!) };
        }

        if (_rsa is not null)
        {
            var p = _rsa.ExportParameters(false);
            return new JsonObject { ["e"] = B64(p.Exponent!), ["kty"] = "RSA", ["n"] = B64(p.Modulus!) };
        }

        return new JsonObject { ["crv"] = "Ed25519", ["kty"] = "OKP", ["x"] = B64(_ed!.PublicKey.Export(KeyBlobFormat.RawPublicKey)) };
    }

    /// <summary>The JWK with its private member(s): what a careless client might send.</summary>
    public JsonObject PrivateJwk()
    {
        var jwk = PublicJwk();
        if (_ec is not null)
        {
            jwk["d"] = B64(_ec.ExportParameters(true).D!);
        }
        else if (_rsa is not null)
        {
            jwk["d"] = B64(_rsa.ExportParameters(true).D!);
        }
        else
        {
            jwk["d"] = B64(_ed!.Export(KeyBlobFormat.RawPrivateKey));
        }

        return jwk;
    }

    /// <summary>RFC 7638: SHA-256 of the required members, lexicographic order, no whitespace.</summary>
    public string Thumbprint => B64(SHA256.HashData(Encoding.UTF8.GetBytes(PublicJwk().ToJsonString())));

    public JsonObject Header() => new() { ["typ"] = "dpop+jwt", ["alg"] = Algorithm, ["jwk"] = PublicJwk() };

    public static JsonObject Claims(string method, string uri, string? accessToken, DateTimeOffset iat, string? nonce = null)
    {
        var claims = new JsonObject
        {
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = uri,
            ["iat"] = iat.ToUnixTimeSeconds(),
        };
        if (accessToken is not null)
        {
            claims["ath"] = AccessTokenHash(accessToken);
        }

        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        return claims;
    }

    /// <summary>A valid proof for one request; <paramref name="edit"/> may change the header or claims before signing.</summary>
    public string Proof(string method, string uri, string accessToken, DateTimeOffset? iat = null, string? nonce = null, Action<JsonObject, JsonObject>? edit = null)
    {
        var header = Header();
        var claims = Claims(method, uri, accessToken, iat ?? DateTimeOffset.UtcNow, nonce);
        edit?.Invoke(header, claims);
        return Sign(header, claims);
    }

    public string Sign(JsonObject header, JsonObject claims)
    {
        var input = B64(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var data = Encoding.ASCII.GetBytes(input);
        var signature = Algorithm switch
        {
            "ES256" => _ec!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            "RS256" => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            "PS256" => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            _ => SignatureAlgorithm.Ed25519.Sign(_ed!, data),
        };
        return input + "." + B64(signature);
    }

    /// <summary>
    /// A proof exactly as the npm <c>dpop</c> package (2.x) writes one, reproduced member for member: header
    /// <c>alg</c>, <c>typ</c>, <c>jwk</c> (with <c>kty</c>, <c>crv</c>, <c>x</c>[, <c>y</c>] in that order, as its
    /// public-key export lists them), and claims <c>iat</c>, <c>jti</c> (a dashed UUID), <c>htm</c>, <c>htu</c>,
    /// <c>ath</c>. For an Ed25519 key its <c>alg</c> is RFC 9864's <c>Ed25519</c>, not <c>EdDSA</c>.
    /// </summary>
    public string LibraryStyleProof(string method, string uri, string accessToken, DateTimeOffset iat)
    {
        var jwk = PublicJwk();
        var ordered = new JsonObject { ["kty"] = (string?)jwk["kty"], ["crv"] = (string?)jwk["crv"] };
        foreach (var member in new[] { "e", "n", "x", "y" })
        {
            if (jwk[member] is { } value)
            {
                ordered[member] = value.GetValue<string>();
            }
        }

        var alg = _ed is not null ? "Ed25519" : Algorithm;
        var header = new JsonObject { ["alg"] = alg, ["typ"] = "dpop+jwt", ["jwk"] = ordered };
        var claims = new JsonObject
        {
            ["iat"] = iat.ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("D"),
            ["htm"] = method,
            ["htu"] = uri,
            ["ath"] = AccessTokenHash(accessToken),
        };
        return Sign(header, claims);
    }

    public static string AccessTokenHash(string accessToken) => B64(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        _ec?.Dispose();
        _rsa?.Dispose();
        _ed?.Dispose();
    }
}
