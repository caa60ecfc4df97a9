using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Tests.Policy;

/// <summary>The optional <c>delegation</c> section: the gateway's own issuer and key for child tokens.</summary>
public sealed class PolicyLoaderDelegationTests : IDisposable
{
    private const string DelegationIssuer = "https://gateway.example/delegation";

    private readonly PolicyTestFolder _folder = new();

    public PolicyLoaderDelegationTests()
    {
        KeyGenerator.Generate(JwsAlgorithms.EdDsa, "gw-delegation-1").WriteTo(System.IO.Path.Combine(_folder.Path, "keys"), "delegation");
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>A policy whose delegation section starts at line 9, its keys at lines 10 to 12.</summary>
    private PolicyLoadResult Load(string delegation, string algorithms = "[EdDSA]", string jwks = "keys/delegation.jwks.json", string maxTokenLifetime = "1h") =>
        _folder.LoadText($"""
            gateway:
              audience: https://gateway.example
              max_token_lifetime: {maxTokenLifetime}
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
              - {"{"} issuer: {DelegationIssuer}, jwks_file: {jwks}, algorithms: {algorithms} {"}"}
            tiers: {"{"} low: {"{"} risk: 1 {"}"} {"}"}
            {delegation}
            """);

    [Fact]
    public void LoadFromText_DelegationSection_Mapped()
    {
        var policy = PolicyAssert.Loaded(Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
              max_ttl: 10m
            """));

        var delegation = Assert.IsType<DelegationSettings>(policy.Delegation);
        Assert.Equal(DelegationIssuer, delegation.Issuer);
        Assert.Equal(System.IO.Path.Combine(_folder.Path, "keys", "delegation-private.jwk"), delegation.SigningKeyFile);
        Assert.Equal(TimeSpan.FromMinutes(10), delegation.MaxTtl);
    }

    [Fact]
    public void LoadFromText_NoMaxTtl_FifteenMinutes()
    {
        var policy = PolicyAssert.Loaded(Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
            """));

        Assert.Equal(TimeSpan.FromMinutes(15), policy.Delegation!.MaxTtl);
    }

    [Fact]
    public void LoadFromText_NoDelegationSection_Null()
    {
        Assert.Null(PolicyAssert.Loaded(_folder.LoadText(PolicyTestFolder.Header)).Delegation);
    }

    [Fact]
    public void LoadFromText_MisspelledKey_SuggestsItWithoutAlsoReportingItMissing()
    {
        var result = Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_keyfile: keys/delegation-private.jwk
            """);

        PolicyAssert.SingleError(result, 11, 3, "unknown key 'signing_keyfile' in section 'delegation' (did you mean 'signing_key_file'?)");
    }

    [Fact]
    public void LoadFromText_EmptySection_ReportsBothRequiredKeys()
    {
        var result = Load("delegation:\n");

        PolicyAssert.HasError(result, 9, 1, "missing required key 'issuer' in section 'delegation'");
        PolicyAssert.HasError(result, 9, 1, "missing required key 'signing_key_file' in section 'delegation'");
    }

    [Fact]
    public void LoadFromText_IssuerNotConfigured_SuggestsTheClosestIssuer()
    {
        var result = Load("""
            delegation:
              issuer: https://gateway.example/delegaton
              signing_key_file: keys/delegation-private.jwk
            """);

        var error = PolicyAssert.SingleError(result, 10, 11, "issuer 'https://gateway.example/delegaton' in section 'delegation' is not configured under 'issuers'");
        Assert.Contains($"(did you mean '{DelegationIssuer}'?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFromText_KeyFileMissing_SaysWhereItLooked()
    {
        var result = Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/nope.jwk
            """);

        PolicyAssert.SingleError(result, 11, 21, $"signing_key_file 'keys/nope.jwk' in section 'delegation' does not exist (looked for {System.IO.Path.Combine(_folder.Path, "keys", "nope.jwk")})");
    }

    [Theory]
    [InlineData("""{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k","alg":"EdDSA"}""", "is not a usable private JWK")]
    [InlineData("not json", "is not a usable private JWK")]
    public void LoadFromText_KeyFileNotAPrivateJwk_Refused(string content, string fragment)
    {
        _folder.Write("keys/public-only.jwk", content);

        var result = Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/public-only.jwk
            """);

        PolicyAssert.SingleError(result, 11, 21, fragment);
    }

    [Fact]
    public void LoadFromText_KeyAlgorithmNotAcceptedByTheIssuer_Refused()
    {
        var result = Load(
            $"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
            """,
            algorithms: "[ES256]");

        PolicyAssert.SingleError(result, 11, 21, $"is a EdDSA key, but issuer '{DelegationIssuer}' accepts only ES256");
    }

    [Fact]
    public void LoadFromText_KidNotInTheIssuersJwksFile_Refused()
    {
        var result = Load(
            $"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
            """,
            jwks: "keys/idp.jwks.json");

        PolicyAssert.SingleError(result, 11, 21, "has kid 'gw-delegation-1', which the jwks_file of issuer");
    }

    [Fact]
    public void LoadFromText_MaxTtlLongerThanTokenLifetime_Refused()
    {
        var result = Load(
            $"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
              max_ttl: 2h
            """,
            maxTokenLifetime: "1h");

        PolicyAssert.SingleError(result, 12, 12, "'max_ttl' in section 'delegation' (2h) is longer than gateway.max_token_lifetime");
    }

    [Fact]
    public void LoadFromText_StatusList_Mapped_AndDefaults()
    {
        var policy = PolicyAssert.Loaded(Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
              status_list: {"{"} uri: https://gateway-admin.example/status-lists/delegation, ttl: 10s, size: 8192 {"}"}
            """));
        var defaults = PolicyAssert.Loaded(Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
              status_list: {"{"} uri: https://gateway-admin.example/status-lists/delegation {"}"}
            """));

        Assert.Equal(new PublishedStatusListSettings { Uri = new Uri("https://gateway-admin.example/status-lists/delegation"), Ttl = TimeSpan.FromSeconds(10), Size = 8192 }, policy.Delegation!.StatusList);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.Delegation!.StatusList!.Ttl);
        Assert.Equal(1024 * 1024, defaults.Delegation.StatusList.Size);
        Assert.Null(PolicyAssert.Loaded(Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
            """)).Delegation!.StatusList);
    }

    [Theory]
    [InlineData("{ uri: http://gateway-admin.example/status }", 12, 23, "'uri' in 'delegation.status_list' must be an absolute https URL")]
    [InlineData("{ uri: \"https://gw.example/status?x=1\" }", 12, 23, "without query")]
    [InlineData("{ ttl: 10s }", 12, 16, "missing required key 'uri'")]
    [InlineData("{ uri: https://gw.example/s, size: 1028 }", 12, 51, "must be a multiple of 8")]
    [InlineData("{ uri: https://gw.example/s, size: 100 }", 12, 51, "must be at least 1024")]
    [InlineData("{ uri: https://gw.example/s, tll: 10s }", 12, 45, "unknown key 'tll'")]
    public void LoadFromText_BadStatusList_ErrorAtItsValue(string statusList, int line, int column, string fragment)
    {
        PolicyAssert.SingleError(Load($"""
            delegation:
              issuer: {DelegationIssuer}
              signing_key_file: keys/delegation-private.jwk
              status_list: {statusList}
            """), line, column, fragment);
    }
}
