using System.Buffers.Text;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class TokenMinterTests
{
    private readonly TestIssuer _issuer = new();
    private readonly TestGateway _gateway;
    private readonly TokenMinter _minter;

    public TokenMinterTests()
    {
        _gateway = new TestGateway(_issuer);
        _minter = new TokenMinter(_issuer.Key, _gateway.Time);
    }

    [Fact]
    public void Mint_Header_IsAtJwtWithKidAndAlgOfTheKey()
    {
        var header = Decode(_minter.Mint(Request()), 0);

        Assert.Equal(3, header.Count);
        Assert.Equal("at+jwt", (string?)header["typ"]);
        Assert.Equal(_issuer.KeyId, (string?)header["kid"]);
        Assert.Equal(JwsAlgorithms.Es256, (string?)header["alg"]);
    }

    [Fact]
    public async Task Mint_FullRequest_ValidatesWithEveryClaim()
    {
        var evidence = "sha256:" + new string('0', 64);
        var jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        var minted = _minter.Mint(Request() with
        {
            Jti = "jti-full",
            Actions = ["crm.customers:read", "crm.*:list"],
            Resources = ["crm:customer/42", "crm:invoice/**"],
            MaxSteps = 7,
            Intent = IntentMethod.Explicit,
            IntentEvidence = evidence,
            Acr = "urn:example:mfa",
            ClientId = "runtime",
            ConfirmationJkt = jkt,
        });

        var token = await _gateway.AssertValidAsync(minted);

        Assert.Equal("jti-full", token.Jti);
        Assert.Equal(_gateway.Now, token.IssuedAt);
        Assert.Equal(_gateway.Now.AddMinutes(10), token.Expires);
        Assert.Equal(["crm.customers:read", "crm.*:list"], Assert.Single(token.Grants).Actions.Select(a => a.Text));
        Assert.Equal(["crm:customer/42", "crm:invoice/**"], token.Grants[0].Resources.Select(r => r.Text));
        Assert.Equal(7, token.MaxSteps);
        Assert.Equal(IntentMethod.Explicit, token.Intent);
        Assert.Equal(evidence, token.IntentEvidence);
        Assert.Equal("urn:example:mfa", token.Acr);
        Assert.Equal(_gateway.Now, token.AuthTime);
        Assert.Equal("runtime", token.ClientId);
        Assert.Equal(jkt, token.ConfirmationJkt);
    }

    [Fact]
    public async Task Mint_WithParent_NestsActorsAndChainsJtis()
    {
        var grandparent = await _gateway.AssertValidAsync(_minter.Mint(Request() with { Jti = "j0", Agent = "agent:a" }));
        var parent = await _gateway.AssertValidAsync(_minter.Mint(Request() with { Jti = "j1", Agent = "agent:b", Parent = grandparent }));

        var minted = _minter.Mint(Request() with { Jti = "j2", Agent = "agent:c", Parent = parent });
        var child = await _gateway.AssertValidAsync(minted);

        Assert.Equal(["agent:c", "agent:b", "agent:a"], child.Actors);
        Assert.Equal(["j1", "j0"], child.Chain);
        Assert.Equal("""{"sub":"agent:c","act":{"sub":"agent:b","act":{"sub":"agent:a"}}}""", Decode(minted, 1)["act"]!.ToJsonString());
    }

    [Fact]
    public async Task Mint_ParentForAnotherSubject_Throws()
    {
        var parent = await _gateway.AssertValidAsync(_minter.Mint(Request()));

        Assert.Throws<ArgumentException>(() => _minter.Mint(Request() with { Subject = "user:mallory", Parent = parent }));
    }

    [Fact]
    public async Task Mint_AdditionalGrantsAndIssuedAt_WrittenAsSeparateEntriesAtThatTime()
    {
        var issuedAt = _gateway.Now.AddSeconds(-90).AddMilliseconds(700);

        var token = await _gateway.AssertValidAsync(_minter.Mint(Request() with
        {
            AdditionalGrants = [new MintGrant(["crm.invoices:list"], ["crm:invoice/**"])],
            IssuedAt = issuedAt,
        }));

        Assert.Equal(2, token.Grants.Count);
        Assert.Equal("crm.invoices:list", Assert.Single(token.Grants[1].Actions).Text);
        Assert.Equal(_gateway.Now.AddSeconds(-90), token.IssuedAt);
        Assert.Equal(token.IssuedAt.AddMinutes(10), token.Expires);
        Assert.True(ScopeEvaluator.IsInScope(token, "crm.invoices:list", "crm:invoice/7"));
        Assert.False(ScopeEvaluator.IsInScope(token, "crm.invoices:list", "crm:customer/42"));
    }

    [Fact]
    public void Mint_AdditionalGrantWithoutResources_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => _minter.Mint(Request() with { AdditionalGrants = [new MintGrant(["crm.invoices:list"], [])] }));
    }

    [Fact]
    public void Mint_OmittedOptionalClaims_AreAbsent()
    {
        var payload = Decode(_minter.Mint(Request()), 1);

        Assert.Equal(
            ["iss", "sub", "aud", "iat", "exp", "jti", "act", "authorization_details"],
            payload.Select(p => p.Key));
        Assert.Equal(22, ((string?)payload["jti"])!.Length);
    }

    public static TheoryData<MintRequest> BadRequests => new()
    {
        Request() with { Actions = [] },
        Request() with { Resources = [] },
        Request() with { Actions = ["crm.customers"] },
        Request() with { Resources = ["crm:customer/../x"] },
        Request() with { Ttl = TimeSpan.Zero },
        Request() with { MaxSteps = 0 },
        Request() with { Subject = " " },
        Request() with { Agent = "" },
        Request() with { IntentEvidence = "sha256:" + new string('0', 64) },
        Request() with { Intent = IntentMethod.Explicit, IntentEvidence = "sha256:zz" },
        Request() with { ConfirmationJkt = "not-a-thumbprint" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Mint_BadRequest_ThrowsArgumentException(MintRequest request)
    {
        Assert.Throws<ArgumentException>(() => _minter.Mint(request));
    }

    private static MintRequest Request() => new()
    {
        Issuer = TestIssuer.DefaultIssuer,
        Audience = TestIssuer.Audience,
        Subject = "user:alice",
        Agent = "agent:billing-bot",
        Actions = ["crm.customers:read"],
        Resources = ["crm:customer/42"],
        Ttl = TimeSpan.FromMinutes(10),
    };

    private static JsonObject Decode(string token, int part) =>
        JsonNode.Parse(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.Split('.')[part])))!.AsObject();
}
