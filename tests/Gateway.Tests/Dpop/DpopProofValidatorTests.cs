using System.Text.Json.Nodes;
using Gateway.Dpop;
using Gateway.Policy;
using Gateway.Testing;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Dpop;

public sealed class DpopProofValidatorTests : IDisposable
{
    private const string Uri = "https://gw.test/crm/customers/42";
    private const string AccessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly TestDpopKey _key = TestDpopKey.Create();

    private DateTimeOffset Now => _time.GetUtcNow();

    public void Dispose() => _key.Dispose();

    private DpopProofValidator Validator(DpopSettings? settings = null, DpopNonces? nonces = null) =>
        new(settings ?? new DpopSettings(), nonces, _time);

    private DpopProofResult Validate(string proof, string method = "GET", string uri = Uri, string accessToken = AccessToken, string? jkt = null, DpopProofValidator? validator = null) =>
        (validator ?? Validator()).Validate(new DpopProofRequest(new StringValues(proof), method, DpopUri.Normalize(uri), accessToken, jkt ?? _key.Thumbprint));

    private string Proof(Action<JsonObject, JsonObject>? edit = null, DateTimeOffset? iat = null) =>
        _key.Proof("GET", Uri, AccessToken, iat ?? Now, edit: edit);

    [Theory]
    [InlineData("ES256")]
    [InlineData("EdDSA")]
    [InlineData("Ed25519")]
    [InlineData("RS256")]
    [InlineData("PS256")]
    public void Validate_ValidProof_IsAcceptedWithItsJtiAndThumbprint(string algorithm)
    {
        using var key = TestDpopKey.Create(algorithm);
        var proof = key.Proof("GET", Uri, AccessToken, Now);

        var result = Validate(proof, jkt: key.Thumbprint);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(key.Thumbprint, result.Thumbprint);
        Assert.Matches("^[0-9a-f]{32}$", result.Jti);
    }

    [Theory]
    [InlineData("EdDSA", "ES256,EdDSA,RS256,PS256")]
    [InlineData("EdDSA", "EdDSA")]
    [InlineData("EdDSA", "Ed25519")]
    [InlineData("ES256", "ES256")]
    public void Validate_ProofAsTheDpopLibraryWritesIt_IsAccepted(string keyAlgorithm, string allowed)
    {
        using var key = TestDpopKey.Create(keyAlgorithm);
        var proof = key.LibraryStyleProof("GET", Uri, AccessToken, Now);
        var validator = Validator(new DpopSettings { Algorithms = allowed.Split(',') });

        var result = Validate(proof, jkt: key.Thumbprint, validator: validator);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(key.Thumbprint, result.Thumbprint);
    }

    [Fact]
    public void Validate_Ed25519Proof_PolicyWithoutAnyEdDsaName_IsRefusedAndTheChallengeSaysWhatIsAccepted()
    {
        using var key = TestDpopKey.Create("Ed25519");
        var validator = Validator(new DpopSettings { Algorithms = ["ES256"] });

        var result = Validate(key.LibraryStyleProof("GET", Uri, AccessToken, Now), jkt: key.Thumbprint, validator: validator);

        Assert.False(result.IsValid);
        Assert.Equal(DpopFailureReasons.AlgorithmNotAllowed, result.Reason);
        Assert.Equal("algs=\"ES256\"", validator.AlgorithmsChallenge);
    }

    [Theory]
    [InlineData("ES256,EdDSA,RS256,PS256", "algs=\"ES256 EdDSA Ed25519 RS256 PS256\"")]
    [InlineData("Ed25519,ES256", "algs=\"Ed25519 EdDSA ES256\"")]
    public void AlgorithmsChallenge_NamesBothSpellingsOfEd25519(string allowed, string challenge) =>
        Assert.Equal(challenge, Validator(new DpopSettings { Algorithms = allowed.Split(',') }).AlgorithmsChallenge);

    public static TheoryData<string, string> BrokenProofs => new()
    {
        { "typ-missing", DpopFailureReasons.WrongType },
        { "typ-jwt", DpopFailureReasons.WrongType },
        { "typ-at+jwt", DpopFailureReasons.WrongType },
        { "alg-none", DpopFailureReasons.AlgorithmNotAllowed },
        { "alg-HS256", DpopFailureReasons.AlgorithmNotAllowed },
        { "alg-ES384", DpopFailureReasons.AlgorithmNotAllowed },
        { "alg-missing", DpopFailureReasons.AlgorithmNotAllowed },
        { "alg-RS256-on-ec-key", DpopFailureReasons.InvalidKey },
        { "jwk-missing", DpopFailureReasons.InvalidKey },
        { "jwk-string", DpopFailureReasons.InvalidKey },
        { "jwk-private", DpopFailureReasons.InvalidKey },
        { "jwk-symmetric", DpopFailureReasons.InvalidKey },
        { "jwk-off-curve", DpopFailureReasons.InvalidKey },
        { "crit", DpopFailureReasons.Malformed },
        { "jti-missing", DpopFailureReasons.MissingClaim },
        { "jti-empty", DpopFailureReasons.InvalidClaim },
        { "jti-number", DpopFailureReasons.InvalidClaim },
        { "jti-too-long", DpopFailureReasons.InvalidClaim },
        { "htm-missing", DpopFailureReasons.MissingClaim },
        { "htm-post", DpopFailureReasons.MethodMismatch },
        { "htm-lowercase", DpopFailureReasons.MethodMismatch },
        { "htu-missing", DpopFailureReasons.MissingClaim },
        { "htu-other-path", DpopFailureReasons.UriMismatch },
        { "htu-other-host", DpopFailureReasons.UriMismatch },
        { "htu-http", DpopFailureReasons.UriMismatch },
        { "htu-relative", DpopFailureReasons.InvalidClaim },
        { "htu-userinfo", DpopFailureReasons.InvalidClaim },
        { "iat-missing", DpopFailureReasons.MissingClaim },
        { "iat-string", DpopFailureReasons.InvalidClaim },
        { "iat-old", DpopFailureReasons.Stale },
        { "iat-future", DpopFailureReasons.IssuedInFuture },
        { "ath-missing", DpopFailureReasons.MissingClaim },
        { "ath-other-token", DpopFailureReasons.TokenHashMismatch },
        { "signature", DpopFailureReasons.SignatureInvalid },
    };

    [Theory]
    [MemberData(nameof(BrokenProofs))]
    public void Validate_BrokenProof_IsRefusedWithItsReason(string kind, string reason)
    {
        var proof = kind == "signature" ? Tamper(Proof()) : Proof((header, claims) => Break(kind, header, claims));

        var result = Validate(proof);

        Assert.False(result.IsValid);
        Assert.Equal(reason, result.Reason);
        Assert.DoesNotContain(_key.Thumbprint, result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ProofByAnotherKey_IsRefusedAsKeyMismatch()
    {
        using var other = TestDpopKey.Create();

        var result = Validate(other.Proof("GET", Uri, AccessToken, Now));

        Assert.Equal(DpopFailureReasons.KeyMismatch, result.Reason);
    }

    [Fact]
    public void Validate_NoProofOrTwo_AreRefused()
    {
        var validator = Validator();
        var proof = Proof();

        var none = validator.Validate(new DpopProofRequest(StringValues.Empty, "GET", Uri, AccessToken, _key.Thumbprint));
        var two = validator.Validate(new DpopProofRequest(new StringValues([proof, proof]), "GET", Uri, AccessToken, _key.Thumbprint));

        Assert.Equal(DpopFailureReasons.MissingProof, none.Reason);
        Assert.Equal(DpopFailureReasons.MultipleProofs, two.Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("eyJ9.eyJ9.sig")]
    [InlineData("e30.e30.c2ln")]
    [InlineData("W10.W10.c2ln")]
    [InlineData("e30=.e30.c2ln")]
    public void Validate_NotACompactJws_IsRefusedAsMalformed(string proof)
    {
        var result = Validate(proof);

        Assert.Contains(result.Reason, new[] { DpopFailureReasons.Malformed, DpopFailureReasons.MissingProof, DpopFailureReasons.WrongType });
    }

    [Fact]
    public void Validate_HugeProof_IsRefusedAsTooLarge()
    {
        var result = Validate(Proof((_, claims) => claims["pad"] = new string('a', DpopProofValidator.MaxProofLength)));

        Assert.Equal(DpopFailureReasons.TooLarge, result.Reason);
    }

    [Fact]
    public void Validate_DuplicateClaim_IsRefusedAsMalformed()
    {
        var header = TestDpopKey.B64(System.Text.Encoding.UTF8.GetBytes(_key.Header().ToJsonString()));
        var claims = TestDpopKey.Claims("GET", Uri, AccessToken, Now).ToJsonString();
        var duplicated = claims.Insert(1, "\"htm\":\"POST\",");
        var proof = header + "." + TestDpopKey.B64(System.Text.Encoding.UTF8.GetBytes(duplicated)) + ".c2ln";

        Assert.Equal(DpopFailureReasons.Malformed, Validate(proof).Reason);
    }

    [Theory]
    [InlineData("{\"jti\":\"\\ud800\"}")]
    [InlineData("{\"jti\":\"a\",\"htu\":\"https://gw.test/\\udfff\"}")]
    public void Validate_LoneSurrogateEscapes_AreRefusedAsMalformed(string claims)
    {
        var header = TestDpopKey.B64(System.Text.Encoding.UTF8.GetBytes(_key.Header().ToJsonString()));
        var proof = header + "." + TestDpopKey.B64(System.Text.Encoding.UTF8.GetBytes(claims)) + ".c2ln";

        Assert.Equal(DpopFailureReasons.Malformed, Validate(proof).Reason);
    }

    [Theory]
    [InlineData(-59, true)]
    [InlineData(-61, false)]
    [InlineData(4, true)]
    [InlineData(6, false)]
    public void Validate_IatWindow_AcceptsSixtySecondsPastAndFiveAhead(int offsetSeconds, bool accepted)
    {
        var result = Validate(Proof(iat: Now.AddSeconds(offsetSeconds)));

        Assert.Equal(accepted, result.IsValid);
    }

    [Fact]
    public void Validate_HtuWithQueryFragmentCaseAndDefaultPort_MatchesTheRequest()
    {
        var proof = _key.Proof("GET", "HTTPS://GW.Test:443/crm/customers/42?x=1#frag", AccessToken, Now);

        Assert.True(Validate(proof, uri: "https://gw.test/crm/customers/42?other=2").IsValid);
    }

    [Fact]
    public void Validate_TypWithApplicationPrefixAndCase_IsAccepted()
    {
        Assert.True(Validate(Proof((header, _) => header["typ"] = "application/DPoP+JWT")).IsValid);
    }

    [Fact]
    public void Validate_AlgorithmNotInPolicy_IsRefused()
    {
        var validator = Validator(new DpopSettings { Algorithms = ["EdDSA"] });

        var result = Validate(Proof(), validator: validator);

        Assert.Equal(DpopFailureReasons.AlgorithmNotAllowed, result.Reason);
        Assert.Equal("algs=\"EdDSA Ed25519\"", validator.AlgorithmsChallenge);
    }

    [Fact]
    public void Validate_NonceRequired_RefusesWithoutAndAcceptsAFreshOne()
    {
        var nonces = DpopNonces.WithRandomKey(_time);
        var validator = Validator(new DpopSettings { RequireNonce = true, NonceLifetime = TimeSpan.FromMinutes(5) }, nonces);

        var without = Validate(Proof(), validator: validator);
        var nonce = nonces.Issue();
        var with = Validate(_key.Proof("GET", Uri, AccessToken, Now, nonce), validator: validator);
        var forged = Validate(_key.Proof("GET", Uri, AccessToken, Now, DpopNonces.WithRandomKey(_time).Issue()), validator: validator);
        _time.Advance(TimeSpan.FromMinutes(6));
        var stale = Validate(_key.Proof("GET", Uri, AccessToken, Now, nonce), validator: validator);

        Assert.True(without.NeedsNonce);
        Assert.True(with.IsValid, with.ToString());
        Assert.True(forged.NeedsNonce);
        Assert.True(stale.NeedsNonce);
    }

    [Fact]
    public void Validate_OtherFaultWithNonceMissing_ReportsTheOtherFault()
    {
        var validator = Validator(new DpopSettings { RequireNonce = true }, DpopNonces.WithRandomKey(_time));

        var result = Validate(Proof((_, claims) => claims["htm"] = "POST"), validator: validator);

        Assert.Equal(DpopFailureReasons.MethodMismatch, result.Reason);
    }

    private void Break(string kind, JsonObject header, JsonObject claims)
    {
        switch (kind)
        {
            case "typ-missing": header.Remove("typ"); break;
            case "typ-jwt": header["typ"] = "JWT"; break;
            case "typ-at+jwt": header["typ"] = "at+jwt"; break;
            case "alg-none": header["alg"] = "none"; break;
            case "alg-HS256": header["alg"] = "HS256"; break;
            case "alg-ES384": header["alg"] = "ES384"; break;
            case "alg-missing": header.Remove("alg"); break;
            case "alg-RS256-on-ec-key": header["alg"] = "RS256"; break;
            case "jwk-missing": header.Remove("jwk"); break;
            case "jwk-string": header["jwk"] = "key"; break;
            case "jwk-private": header["jwk"] = _key.PrivateJwk(); break;
            case "jwk-symmetric": header["jwk"] = new JsonObject { ["kty"] = "oct", ["k"] = "c2VjcmV0" }; break;
            case "jwk-off-curve":
                var jwk = _key.PublicJwk();
                jwk["y"] = jwk["x"]!.GetValue<string>();
                header["jwk"] = jwk;
                break;
            case "crit": header["crit"] = new JsonArray("exp"); break;
            case "jti-missing": claims.Remove("jti"); break;
            case "jti-empty": claims["jti"] = ""; break;
            case "jti-number": claims["jti"] = 42; break;
            case "jti-too-long": claims["jti"] = new string('j', DpopProofValidator.MaxJtiLength + 1); break;
            case "htm-missing": claims.Remove("htm"); break;
            case "htm-post": claims["htm"] = "POST"; break;
            case "htm-lowercase": claims["htm"] = "get"; break;
            case "htu-missing": claims.Remove("htu"); break;
            case "htu-other-path": claims["htu"] = "https://gw.test/crm/customers/43"; break;
            case "htu-other-host": claims["htu"] = "https://evil.test/crm/customers/42"; break;
            case "htu-http": claims["htu"] = "http://gw.test/crm/customers/42"; break;
            case "htu-relative": claims["htu"] = "/crm/customers/42"; break;
            case "htu-userinfo": claims["htu"] = "https://gw.test@evil.test/crm/customers/42"; break;
            case "iat-missing": claims.Remove("iat"); break;
            case "iat-string": claims["iat"] = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture); break;
            case "iat-old": claims["iat"] = Now.AddMinutes(-5).ToUnixTimeSeconds(); break;
            case "iat-future": claims["iat"] = Now.AddMinutes(5).ToUnixTimeSeconds(); break;
            case "ath-missing": claims.Remove("ath"); break;
            case "ath-other-token": claims["ath"] = TestDpopKey.AccessTokenHash("another.token.value"); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    private static string Tamper(string proof)
    {
        var parts = proof.Split('.');
        var signature = parts[2].ToCharArray();
        signature[5] = signature[5] == 'A' ? 'B' : 'A';
        return parts[0] + "." + parts[1] + "." + new string(signature);
    }
}
