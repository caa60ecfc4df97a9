using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary><c>upstreams.NAME.auth</c>: one credential kind, secrets named by file or variable, errors at file:line:column.</summary>
public sealed class PolicyLoaderUpstreamAuthTests : IDisposable
{
    private const string Head = """
        gateway:
          audience: https://gateway.example
        issuers:
          - issuer: https://idp.example
            jwks_file: keys/idp.jwks.json
        tiers:
          low: { risk: 1 }
        upstreams:
          crm:
            destinations: [https://crm.internal]

        """;

    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The policy with <c>auth:</c> at line 11, column 5, and <paramref name="body"/> below it, indented.</summary>
    private PolicyLoadResult LoadAuth(string body, string extra = "") =>
        _folder.LoadText(Head.TrimEnd('\n') + "\n    auth:\n" + string.Join('\n', body.Split('\n').Select(l => "      " + l)) + "\n" + extra);

    [Fact]
    public void Header_WithValueFile_ResolvesAgainstThePolicyFolder()
    {
        var policy = PolicyAssert.Loaded(LoadAuth("header: { name: X-Api-Key, value_file: secrets/crm.key }"));

        var auth = Assert.IsType<HeaderAuthSettings>(policy.Upstreams["crm"].Auth);
        Assert.Equal("X-Api-Key", auth.Name);
        Assert.Equal(Path.Combine(_folder.Path, "secrets", "crm.key"), auth.ValueFile);
        Assert.Null(auth.ValueEnv);
        Assert.Equal(12, auth.Location.Line);
    }

    [Fact]
    public void Header_WithBothSources_IsRefused()
    {
        var result = LoadAuth("header: { name: X-Api-Key, value_file: k, value_env: K }");

        PolicyAssert.HasError(result, 12, 15, "exactly one of value_file");
    }

    [Fact]
    public void Header_NamingAGatewayHeader_IsRefused()
    {
        PolicyAssert.HasError(LoadAuth("header: { name: Gateway-Subject, value_env: K }"), 12, 23, "cannot be 'Gateway-Subject'");
        PolicyAssert.HasError(LoadAuth("header: { name: Host, value_env: K }"), 12, 23, "cannot be 'Host'");
    }

    [Fact]
    public void Header_WithAValue_IsUnknownKey()
    {
        PolicyAssert.HasError(LoadAuth("header: { name: X-Api-Key, value: s3cret }"), 12, 34, "unknown key 'value'");
    }

    [Fact]
    public void TwoKinds_AreRefused()
    {
        var result = LoadAuth("""
            header: { name: X-Api-Key, value_env: K }
            client_certificate: { cert_file: c.pem, key_file: k.pem }
            """);

        PolicyAssert.HasError(result, 12, 7, "sets header and client_certificate");
    }

    [Fact]
    public void ClientCredentials_EveryKey_IsMapped()
    {
        var policy = PolicyAssert.Loaded(LoadAuth("oauth2_client_credentials: { token_url: https://idp.crm/token, client_id: gw, client_secret_file: s/secret, scope: \"a b\", audience: crm-api, resource: https://crm.internal/ }"));

        var auth = Assert.IsType<ClientCredentialsAuthSettings>(policy.Upstreams["crm"].Auth);
        Assert.Equal(new Uri("https://idp.crm/token"), auth.TokenUrl);
        Assert.Equal("gw", auth.ClientId);
        Assert.Equal(Path.Combine(_folder.Path, "s", "secret"), auth.ClientSecretFile);
        Assert.Equal("a b", auth.Scope);
        Assert.Equal("crm-api", auth.Audience);
        Assert.Equal("https://crm.internal/", auth.Resource);
    }

    [Fact]
    public void ClientCredentials_PlainHttpTokenUrl_IsRefusedUnlessLoopback()
    {
        PolicyAssert.HasError(LoadAuth("oauth2_client_credentials: { token_url: http://idp.crm/token, client_id: gw, client_secret_file: s }"), 12, 47, "must use https");
        PolicyAssert.Loaded(LoadAuth("oauth2_client_credentials: { token_url: http://127.0.0.1:9000/token, client_id: gw, client_secret_file: s }"));
    }

    [Fact]
    public void ClientCredentials_MissingClientSecretFile_IsReported()
    {
        PolicyAssert.HasError(LoadAuth("oauth2_client_credentials: { token_url: https://idp/token, client_id: gw }"), 12, 34, "missing required key 'client_secret_file'");
    }

    [Fact]
    public void TokenExchange_WithoutAnIssuer_SaysWhereOneComesFrom()
    {
        PolicyAssert.HasError(LoadAuth("token_exchange: { token_url: https://sts/token, client_id: gw, client_secret_file: s, audience: crm }"), 12, 23, "set 'issuer' and 'signing_key_file'");
    }

    [Fact]
    public void TokenExchange_WithOwnIssuer_IsMapped()
    {
        var policy = PolicyAssert.Loaded(LoadAuth("token_exchange: { token_url: https://sts/token, client_id: gw, client_secret_file: s, audience: crm, issuer: https://gateway.example, signing_key_file: keys/gw.jwk }"));

        var auth = Assert.IsType<TokenExchangeAuthSettings>(policy.Upstreams["crm"].Auth);
        Assert.Equal("crm", auth.Audience);
        Assert.Equal("https://gateway.example", auth.Issuer);
        Assert.Equal(Path.Combine(_folder.Path, "keys", "gw.jwk"), auth.SigningKeyFile);
    }

    [Fact]
    public void ClientCertificate_NeedsHttpsDestinations()
    {
        var result = _folder.LoadText(Head.Replace("https://crm.internal", "http://crm.internal", StringComparison.Ordinal).TrimEnd('\n')
            + "\n    auth:\n      client_certificate: { cert_file: c.pem, key_file: k.pem }\n");

        PolicyAssert.HasError(result, 12, 7, "needs https destinations");
    }

    [Fact]
    public void UnchangedAuth_ComparesEqual_SoAReloadKeepsItsCache()
    {
        var first = PolicyAssert.Loaded(LoadAuth("header: { name: X-Api-Key, value_file: k }")).Upstreams["crm"].Auth;
        var second = PolicyAssert.Loaded(LoadAuth("header: { name: X-Api-Key, value_file: k }", extra: "\n\n")).Upstreams["crm"].Auth;
        var changed = PolicyAssert.Loaded(LoadAuth("header: { name: X-Other, value_file: k }")).Upstreams["crm"].Auth;

        Assert.Equal(first, second);
        Assert.NotEqual(first, changed);
    }

    [Fact]
    public void CaFile_IsReadAtLoad_AndResolvedAgainstThePolicyFolder()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Test CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Directory.CreateDirectory(Path.Combine(_folder.Path, "tls"));
        File.WriteAllText(Path.Combine(_folder.Path, "tls", "ca.pem"), ca.ExportCertificatePem());

        var policy = PolicyAssert.Loaded(_folder.LoadText(Head.TrimEnd('\n') + "\n    tls: { ca_file: tls/ca.pem }\n"));

        Assert.Equal(Path.Combine(_folder.Path, "tls", "ca.pem"), policy.Upstreams["crm"].CaFile);
    }

    [Theory]
    [InlineData("", "does not exist")]
    [InlineData("not a certificate", "holds no PEM certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "is not a PEM bundle of certificates")]
    public void CaFile_ThatHoldsNoCertificate_IsALoadErrorAtItsLine(string content, string expected)
    {
        if (content.Length > 0)
        {
            File.WriteAllText(Path.Combine(_folder.Path, "ca.pem"), content);
        }

        PolicyAssert.HasError(_folder.LoadText(Head.TrimEnd('\n') + "\n    tls: { ca_file: ca.pem }\n"), 11, 21, expected);
    }

    [Fact]
    public void CaFile_OnAPlainHttpUpstream_IsRefused()
    {
        var result = _folder.LoadText(Head.Replace("https://crm.internal", "http://crm.internal", StringComparison.Ordinal).TrimEnd('\n') + "\n    tls: { ca_file: ca.pem }\n");

        PolicyAssert.HasError(result, 11, 21, "applies to https destinations");
    }
}
