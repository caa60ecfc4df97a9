using System.Text;
using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class CapabilityTokenValidatorTests
{
    public static TheoryData<string> Algorithms => [JwsAlgorithms.Es256, JwsAlgorithms.EdDsa, JwsAlgorithms.Rs256, JwsAlgorithms.Ps256];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ValidateAsync_ValidToken_ReturnsCapabilityToken(string algorithm)
    {
        var issuer = new TestIssuer(algorithm: algorithm);
        var gateway = new TestGateway(issuer);

        var token = await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c => c["jti"] = "jti-1"));

        Assert.Equal("jti-1", token.Jti);
        Assert.Equal(TestIssuer.DefaultIssuer, token.Issuer);
        Assert.Equal("user:alice", token.Subject);
        Assert.Equal("agent:billing-bot", token.Agent);
        Assert.Equal(["agent:billing-bot"], token.Actors);
        Assert.Equal(gateway.Now, token.IssuedAt);
        Assert.Equal(gateway.Now.AddMinutes(10), token.Expires);
        var grant = Assert.Single(token.Grants);
        Assert.Equal("crm.customers:read", Assert.Single(grant.Actions).Text);
        Assert.Equal("crm:customer/42", Assert.Single(grant.Resources).Text);
        Assert.Equal(IntentMethod.Policy, token.Intent);
        Assert.Null(token.MaxSteps);
        Assert.Empty(token.Chain);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ValidateAsync_TamperedPayload_SignatureInvalid(string algorithm)
    {
        var issuer = new TestIssuer(algorithm: algorithm);
        var gateway = new TestGateway(issuer);
        var parts = issuer.Mint(gateway.Now).Split('.');
        var claims = issuer.Claims(gateway.Now);
        claims["authorization_details"]![0]!["resources"] = new JsonArray("crm:customer/**");
        var forgedPayload = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()));

        await gateway.AssertRefusedAsync($"{parts[0]}.{forgedPayload}.{parts[2]}", TokenFailureReasons.SignatureInvalid);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ValidateAsync_TamperedSignature_SignatureInvalid(string algorithm)
    {
        var issuer = new TestIssuer(algorithm: algorithm);
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);
        var signatureStart = token.LastIndexOf('.') + 1;
        var flipped = token[signatureStart] == 'A' ? 'B' : 'A';

        await gateway.AssertRefusedAsync(string.Concat(token.AsSpan(0, signatureStart), flipped.ToString(), token.AsSpan(signatureStart + 1)), TokenFailureReasons.SignatureInvalid);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task ValidateAsync_SignedWithAnotherKeyUnderTheSameKid_SignatureInvalid(string algorithm)
    {
        var issuer = new TestIssuer(algorithm: algorithm);
        var gateway = new TestGateway(issuer);
        var impostor = TestIssuer.SharedKey(algorithm, issuer.KeyId, variant: 1);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, signWith: impostor), TokenFailureReasons.SignatureInvalid);
    }

    [Fact]
    public async Task ValidateAsync_EmptySignature_SignatureInvalid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(TestIssuer.WithoutSignature(issuer.Header(), issuer.Claims(gateway.Now)), TokenFailureReasons.SignatureInvalid);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    public async Task ValidateAsync_AlgNone_AlgorithmNotAllowed(string alg)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var header = issuer.Header();
        header["alg"] = alg;

        var failure = await gateway.AssertRefusedAsync(TestIssuer.WithoutSignature(header, issuer.Claims(gateway.Now)), TokenFailureReasons.AlgorithmNotAllowed);
        Assert.Contains("none", failure.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("HS384")]
    [InlineData("HS512")]
    public async Task ValidateAsync_HmacSignedWithThePublicKey_AlgorithmNotAllowed(string alg)
    {
        // The classic key-confusion forgery: the public key, which everyone has, used as an HMAC secret.
        var issuer = new TestIssuer(algorithm: JwsAlgorithms.Rs256);
        // Even an issuer misconfigured to list the HMAC algorithm must not make the gateway accept it.
        var gateway = new TestGateway([issuer.Settings(algorithms: [JwsAlgorithms.Rs256, alg])], [issuer]);
        var header = issuer.Header();
        header["alg"] = alg;
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(issuer.Jwks));

        var token = TestIssuer.Sign(header, issuer.Claims(gateway.Now), secret, alg);

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.AlgorithmNotAllowed);
    }

    [Theory]
    [InlineData("ES384")]
    [InlineData("RS512")]
    [InlineData("es256")]
    [InlineData("Ed25519")]
    public async Task ValidateAsync_UnsupportedAlgorithm_AlgorithmNotAllowed(string alg)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h["alg"] = alg), TokenFailureReasons.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task ValidateAsync_AlgorithmSupportedButNotAllowedForTheIssuer_AlgorithmNotAllowed()
    {
        // The JWKS holds an Ed25519 key under the kid, but the issuer is only trusted for ES256.
        var issuer = new TestIssuer(algorithm: JwsAlgorithms.EdDsa);
        var gateway = new TestGateway([issuer.Settings(algorithms: [JwsAlgorithms.Es256])], [issuer]);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now), TokenFailureReasons.AlgorithmNotAllowed);
        Assert.Contains("issuer", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_AlgorithmThatDoesNotFitTheKey_AlgorithmNotAllowed()
    {
        // RS256 is allowed for the issuer, but kid names its EC key.
        var issuer = new TestIssuer(algorithm: JwsAlgorithms.Es256);
        var gateway = new TestGateway([issuer.Settings(algorithms: [JwsAlgorithms.Es256, JwsAlgorithms.Rs256])], [issuer]);
        var rsa = TestIssuer.SharedKey(JwsAlgorithms.Rs256, issuer.KeyId);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h["alg"] = JwsAlgorithms.Rs256, signWith: rsa), TokenFailureReasons.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task ValidateAsync_UnknownKid_UnknownKey()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h["kid"] = "no-such-key"), TokenFailureReasons.UnknownKey, "no-such-key");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(42)]
    public async Task ValidateAsync_MissingOrBadKid_UnknownKey(object? kid)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(
            issuer.Mint(gateway.Now, header: h =>
            {
                if (kid is null)
                {
                    h.Remove("kid");
                }
                else
                {
                    h["kid"] = JsonValue.Create(kid);
                }
            }),
            TokenFailureReasons.UnknownKey);
    }

    [Fact]
    public async Task ValidateAsync_KidOfAnotherIssuer_NotAccepted()
    {
        // Issuer B's token signed with A's key, naming A's kid: kids are looked up in B's keys only.
        var a = new TestIssuer("https://a.test", keyId: "shared-looking-kid");
        var b = new TestIssuer("https://b.test", keyId: "b-key");
        var gateway = new TestGateway(a, b);

        await gateway.AssertValidAsync(a.Mint(gateway.Now));
        await gateway.AssertRefusedAsync(a.Mint(gateway.Now, claims: c => c["iss"] = b.Issuer), TokenFailureReasons.UnknownKey);
    }

    [Fact]
    public async Task ValidateAsync_SameKidAtTwoIssuers_EachVerifiesOnlyItsOwnTokens()
    {
        var a = new TestIssuer("https://a.test", keyId: "k1");
        var b = new TestIssuer("https://b.test", keyId: "k1", keyVariant: 1);
        var gateway = new TestGateway(a, b);

        await gateway.AssertValidAsync(a.Mint(gateway.Now));
        await gateway.AssertValidAsync(b.Mint(gateway.Now));
        await gateway.AssertRefusedAsync(a.Mint(gateway.Now, claims: c => c["iss"] = b.Issuer), TokenFailureReasons.SignatureInvalid);
    }

    [Fact]
    public async Task ValidateAsync_UnknownIssuer_UnknownIssuer()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["iss"] = "https://evil.test"), TokenFailureReasons.UnknownIssuer, "evil.test");
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["iss"] = TestIssuer.DefaultIssuer + "/"), TokenFailureReasons.UnknownIssuer);
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["iss"] = 7), TokenFailureReasons.UnknownIssuer);
    }

    [Fact]
    public async Task ValidateAsync_Expired_Expired()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);

        gateway.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(30));

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.Expired);
    }

    [Fact]
    public async Task ValidateAsync_ExpiredWithinClockSkew_Valid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var token = issuer.Mint(gateway.Now, claims: c => c["exp"] = gateway.Now.AddSeconds(-29).ToUnixTimeSeconds());

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.InvalidClaim); // exp before iat
        token = issuer.Mint(gateway.Now.AddMinutes(-5), claims: c => c["exp"] = gateway.Now.AddSeconds(-29).ToUnixTimeSeconds());
        await gateway.AssertValidAsync(token);
    }

    [Fact]
    public async Task ValidateAsync_NotBeforeInTheFuture_NotYetValid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now, claims: c => c["nbf"] = gateway.Now.AddMinutes(2).ToUnixTimeSeconds());

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.NotYetValid);

        gateway.Time.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(30));
        var valid = await gateway.AssertValidAsync(token);
        Assert.Equal(gateway.Now.AddSeconds(30), valid.NotBefore);
    }

    [Fact]
    public async Task ValidateAsync_IssuedInTheFuture_NotYetValid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now.AddMinutes(5)), TokenFailureReasons.NotYetValid);
        await gateway.AssertValidAsync(issuer.Mint(gateway.Now.AddSeconds(25)));
    }

    [Fact]
    public async Task ValidateAsync_LifetimeLongerThanPolicyAllows_LifetimeTooLong()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(
            issuer.Mint(gateway.Now, claims: c => c["exp"] = gateway.Now.AddHours(1).AddSeconds(1).ToUnixTimeSeconds()),
            TokenFailureReasons.LifetimeTooLong);
        await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c => c["exp"] = gateway.Now.AddHours(1).ToUnixTimeSeconds()));
    }

    [Fact]
    public async Task ValidateAsync_LifetimeLimitFromPolicy_Applied()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway([issuer.Settings()], [issuer], gateway: g => g with { MaxTokenLifetime = TimeSpan.FromMinutes(5) });

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now), TokenFailureReasons.LifetimeTooLong);
    }

    [Fact]
    public async Task ValidateAsync_FractionalNumericDates_Accepted()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var token = await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c =>
        {
            c["iat"] = gateway.Now.ToUnixTimeSeconds() + 0.25;
            c["exp"] = gateway.Now.AddMinutes(5).ToUnixTimeSeconds() + 0.75;
        }));

        Assert.Equal(gateway.Now.AddMinutes(5), token.Expires);
    }

    [Theory]
    [InlineData("\"soon\"")]
    [InlineData("-1")]
    [InlineData("1e300")]
    [InlineData("true")]
    public async Task ValidateAsync_NonNumericExp_InvalidClaim(string exp)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["exp"] = JsonNode.Parse(exp)), TokenFailureReasons.InvalidClaim);
        Assert.Contains("'exp'", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_WrongAudience_WrongAudience()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["aud"] = "https://other.test"), TokenFailureReasons.WrongAudience, "other.test");
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["aud"] = TestIssuer.Audience + "/"), TokenFailureReasons.WrongAudience);
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["aud"] = new JsonArray()), TokenFailureReasons.WrongAudience);
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["aud"] = new JsonArray("https://a.test", 3)), TokenFailureReasons.InvalidClaim);
    }

    [Fact]
    public async Task ValidateAsync_AudienceArrayContainingTheGateway_Valid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c => c["aud"] = new JsonArray("https://other.test", TestIssuer.Audience)));
    }

    [Theory]
    [InlineData("JWT")]
    [InlineData("at+jwt+x")]
    [InlineData("application/jwt")]
    [InlineData("dpop+jwt")]
    public async Task ValidateAsync_WrongType_WrongType(string typ)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h["typ"] = typ), TokenFailureReasons.WrongType);
    }

    [Fact]
    public async Task ValidateAsync_MissingType_WrongType()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h.Remove("typ")), TokenFailureReasons.WrongType);
    }

    [Theory]
    [InlineData("at+jwt")]
    [InlineData("AT+JWT")]
    [InlineData("application/at+jwt")]
    [InlineData("Application/At+Jwt")]
    public async Task ValidateAsync_TypeSpellings_Valid(string typ)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertValidAsync(issuer.Mint(gateway.Now, header: h => h["typ"] = typ));
    }

    [Fact]
    public async Task ValidateAsync_TypeListedForTheIssuer_Valid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway([issuer.Settings(types: ["at+jwt", "application/JWT"])], [issuer]);

        await gateway.AssertValidAsync(issuer.Mint(gateway.Now, header: h => h["typ"] = "jwt"));
    }

    [Theory]
    [InlineData("jku", "\"https://evil.test/jwks\"")]
    [InlineData("x5u", "\"https://evil.test/cert.pem\"")]
    [InlineData("jwk", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}")]
    public async Task ValidateAsync_KeyReferenceHeader_HeaderNotAllowed(string name, string value)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h[name] = JsonNode.Parse(value)), TokenFailureReasons.HeaderNotAllowed, "evil.test");
        Assert.Contains($"'{name}'", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_CritHeader_CriticalHeader()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(
            issuer.Mint(gateway.Now, header: h =>
            {
                h["crit"] = new JsonArray("exp");
                h["exp"] = 1;
            }),
            TokenFailureReasons.CriticalHeader);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("..")]
    [InlineData("a..c")]
    [InlineData(".b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.c2ln ")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30=.c2ln")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.c2ln\u00e9")]
    [InlineData("Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln")]
    [InlineData("bm90IGpzb24.bm90IGpzb24.c2ln")]
    [InlineData("W10.W10.c2ln")]
    public async Task ValidateAsync_Garbage_Malformed(string token)
    {
        var gateway = new TestGateway(new TestIssuer());

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.Malformed);
    }

    [Fact]
    public async Task ValidateAsync_CompactJwe_Malformed()
    {
        var gateway = new TestGateway(new TestIssuer());

        var failure = await gateway.AssertRefusedAsync("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn", TokenFailureReasons.Malformed);
        Assert.Contains("JWE", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_EncHeaderOnThreeParts_Malformed()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h["enc"] = "A256GCM"), TokenFailureReasons.Malformed);
    }

    [Fact]
    public async Task ValidateAsync_DuplicateClaimNames_Malformed()
    {
        // A second "aud" that one parser reads and another ignores is how two components disagree about a token.
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var claims = issuer.Claims(gateway.Now).ToJsonString();
        var duplicated = claims.Insert(claims.Length - 1, ",\"aud\":\"https://other.test\"");

        await gateway.AssertRefusedAsync(TestIssuer.Sign(issuer.Header().ToJsonString(), duplicated, issuer.Key), TokenFailureReasons.Malformed);
    }

    [Fact]
    public async Task ValidateAsync_LargerThan64KiB_TooLarge()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now, claims: c => c["padding"] = new string('x', 64 * 1024));

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.TooLarge);
        await gateway.AssertRefusedAsync(new string('a', 10 * 1024 * 1024), TokenFailureReasons.TooLarge);
    }

    [Fact]
    public async Task ValidateAsync_JustUnder64KiB_Valid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now, claims: c => c["padding"] = new string('x', 47 * 1024));

        Assert.InRange(token.Length, 63 * 1024, CapabilityTokenValidator.MaxTokenLength);
        await gateway.AssertValidAsync(token);
    }

    [Theory]
    [InlineData("iss")]
    [InlineData("aud")]
    [InlineData("exp")]
    [InlineData("iat")]
    [InlineData("sub")]
    [InlineData("act")]
    [InlineData("jti")]
    [InlineData("authorization_details")]
    public async Task ValidateAsync_MissingRequiredClaim_MissingClaim(string claim)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c.Remove(claim)), TokenFailureReasons.MissingClaim);
        Assert.Contains($"'{claim}'", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_ActWithoutSub_MissingClaim()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(
            issuer.Mint(gateway.Now, claims: c => c["act"] = new JsonObject { ["sub"] = "agent:b", ["act"] = new JsonObject { ["iss"] = "x" } }),
            TokenFailureReasons.MissingClaim);
        Assert.Contains("'act.sub'", failure.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sub", "\"\"")]
    [InlineData("sub", "42")]
    [InlineData("jti", "[\"a\"]")]
    [InlineData("act", "\"agent:b\"")]
    [InlineData("client_id", "{}")]
    [InlineData("acr", "1")]
    [InlineData("auth_time", "\"yesterday\"")]
    [InlineData("cap", "[]")]
    [InlineData("cnf", "\"thumbprint\"")]
    public async Task ValidateAsync_ClaimOfTheWrongShape_InvalidClaim(string claim, string json)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c[claim] = JsonNode.Parse(json)), TokenFailureReasons.InvalidClaim);
        Assert.Contains($"'{claim}", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_OverlongIdentifier_InvalidClaim()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["jti"] = new string('j', 1025)), TokenFailureReasons.InvalidClaim);
    }

    public static TheoryData<string> BrokenAuthorizationDetails =>
    [
        "{\"type\":\"agent_capability\",\"actions\":[\"crm.customers:read\"]}",
        "[{\"type\":\"agent_capability\",\"actions\":[\"crm.customers:read\"]}]",
        "[{\"type\":\"agent_capability\",\"resources\":[\"crm:customer/42\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":[],\"resources\":[\"crm:customer/42\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":\"crm.customers:read\",\"resources\":[\"crm:customer/42\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":[\"crm.customers\"],\"resources\":[\"crm:customer/42\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":[\"crm.customers:read\"],\"resources\":[\"customer/42\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":[\"crm.customers:read\"],\"resources\":[\"crm:customer/4*\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":[\"crm.customers:read\"],\"resources\":[\"crm:customer/../admin\"]}]",
        "[{\"type\":\"agent_capability\",\"actions\":[1],\"resources\":[\"crm:customer/42\"]}]",
        "[{\"actions\":[\"crm.customers:read\"],\"resources\":[\"crm:customer/42\"]}]",
        "[\"agent_capability\"]",
        "[{\"type\":7}]",
    ];

    [Theory]
    [MemberData(nameof(BrokenAuthorizationDetails))]
    public async Task ValidateAsync_MalformedAuthorizationDetails_InvalidClaim(string json)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["authorization_details"] = JsonNode.Parse(json)), TokenFailureReasons.InvalidClaim, "crm.customers");
        Assert.Contains("'authorization_details'", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_OtherAuthorizationDetailTypes_Ignored()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var token = await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c => c["authorization_details"] = JsonNode.Parse("""
            [
              {"type":"payment_initiation","instructedAmount":{"currency":"EUR","amount":"123.50"}},
              {"type":"agent_capability","actions":["crm.*:read","crm.customers:*"],"resources":["crm:customer/*","crm:invoice/**"],"locations":["https://x"]},
              {"type":"agent_capability","actions":["mail.messages:send"],"resources":["mail:mailbox/alice"]}
            ]
            """)));

        Assert.Equal(2, token.Grants.Count);
        Assert.Equal(["crm.*:read", "crm.customers:*"], token.Grants[0].Actions.Select(a => a.Text));
        Assert.Equal(["crm:customer/*", "crm:invoice/**"], token.Grants[0].Resources.Select(r => r.Text));
        Assert.Equal("mail.messages:send", Assert.Single(token.Grants[1].Actions).Text);
    }

    [Fact]
    public async Task ValidateAsync_NoAgentCapabilityEntries_ValidWithNoGrants()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var token = await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c => c["authorization_details"] = new JsonArray()));

        Assert.Empty(token.Grants);
    }

    [Fact]
    public async Task ValidateAsync_AllOptionalClaims_Parsed()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var evidence = "sha256:" + new string('a', 64);
        var jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

        var token = await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c =>
        {
            c["act"] = JsonNode.Parse("""{"sub":"agent:c","act":{"sub":"agent:b","act":{"sub":"agent:a"}}}""");
            c["client_id"] = "runtime-1";
            c["cap"] = new JsonObject
            {
                ["max_steps"] = 5,
                ["intent"] = new JsonObject { ["method"] = "step_up", ["evidence"] = evidence },
                ["chain"] = new JsonArray("parent-jti", "grandparent-jti"),
            };
            c["acr"] = "urn:example:mfa";
            c["auth_time"] = gateway.Now.AddMinutes(-3).ToUnixTimeSeconds();
            c["cnf"] = new JsonObject { ["jkt"] = jkt, ["x5t#S256"] = jkt };
        }));

        Assert.Equal(["agent:c", "agent:b", "agent:a"], token.Actors);
        Assert.Equal("agent:c", token.Agent);
        Assert.Equal(3, token.DelegationDepth);
        Assert.Equal("runtime-1", token.ClientId);
        Assert.Equal(5, token.MaxSteps);
        Assert.Equal(IntentMethod.StepUp, token.Intent);
        Assert.Equal(evidence, token.IntentEvidence);
        Assert.Equal(["parent-jti", "grandparent-jti"], token.Chain);
        Assert.Equal("urn:example:mfa", token.Acr);
        Assert.Equal(gateway.Now.AddMinutes(-3), token.AuthTime);
        Assert.Equal(jkt, token.ConfirmationJkt);
        Assert.Equal(jkt, token.ConfirmationX5tS256);
    }

    [Theory]
    [InlineData("""{"max_steps":0}""", "cap.max_steps")]
    [InlineData("""{"max_steps":-3}""", "cap.max_steps")]
    [InlineData("""{"max_steps":1.5}""", "cap.max_steps")]
    [InlineData("""{"max_steps":"5"}""", "cap.max_steps")]
    [InlineData("""{"max_steps":3000000000}""", "cap.max_steps")]
    [InlineData("""{"intent":{"method":"Explicit"}}""", "cap.intent")]
    [InlineData("""{"intent":{"method":"vibes"}}""", "cap.intent")]
    [InlineData("""{"intent":{}}""", "cap.intent")]
    [InlineData("""{"intent":"explicit"}""", "cap.intent")]
    [InlineData("""{"intent":{"method":"explicit","evidence":"md5:abc"}}""", "cap.intent.evidence")]
    [InlineData("""{"intent":{"method":"explicit","evidence":"sha256:xyz"}}""", "cap.intent.evidence")]
    [InlineData("""{"chain":"parent"}""", "cap.chain")]
    [InlineData("""{"chain":[""]}""", "cap.chain")]
    [InlineData("""{"chain":[1]}""", "cap.chain")]
    public async Task ValidateAsync_MalformedCap_InvalidClaimNamingTheMember(string cap, string name)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        var failure = await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["cap"] = JsonNode.Parse(cap)), TokenFailureReasons.InvalidClaim, "vibes");
        Assert.Contains($"'{name}'", failure.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"jkt":"short"}""")]
    [InlineData("""{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I="}""")]
    [InlineData("""{"jwk":{"kty":"EC"}}""")]
    [InlineData("""{}""")]
    public async Task ValidateAsync_UnenforceableConfirmation_InvalidClaim(string cnf)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["cnf"] = JsonNode.Parse(cnf)), TokenFailureReasons.InvalidClaim);
    }

    [Fact]
    public async Task ValidateAsync_ActNestedBeyondTheParsingLimit_InvalidClaim()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertValidAsync(issuer.Mint(gateway.Now, claims: c => c["act"] = NestedActors(32)));
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["act"] = NestedActors(33)), TokenFailureReasons.InvalidClaim);
    }

    [Fact]
    public async Task ValidateAsync_DeeplyNestedJson_Malformed()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["junk"] = JsonNode.Parse(new string('[', 100) + new string(']', 100), documentOptions: new() { MaxDepth = 200 })), TokenFailureReasons.Malformed);
    }

    [Fact]
    public async Task ValidateAsync_Cancelled_DoesNotAffectCachedTokens()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);
        await gateway.AssertValidAsync(token);

        var result = await gateway.Validator.ValidateAsync(token, new CancellationToken(canceled: true));

        Assert.True(result.IsValid);
    }

    private static JsonObject NestedActors(int depth)
    {
        var act = new JsonObject { ["sub"] = $"agent:{depth}" };
        for (var i = depth - 1; i >= 1; i--)
        {
            act = new JsonObject { ["sub"] = $"agent:{i}", ["act"] = act };
        }

        return act;
    }
}
