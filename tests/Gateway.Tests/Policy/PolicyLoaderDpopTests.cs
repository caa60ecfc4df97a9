using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary><c>gateway.dpop</c> and <c>gateway.max_request_body_bytes</c>.</summary>
public sealed class PolicyLoaderDpopTests : IDisposable
{
    private const string Rest = """
        issuers:
          - issuer: https://idp.example
            jwks_file: keys/idp.jwks.json
        tiers:
          low: { risk: 1 }
        upstreams:
          crm: { destinations: [http://127.0.0.1:5101] }

        """;

    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private PolicyLoadResult LoadGateway(string gateway) => _folder.LoadText(gateway + "\n" + Rest);

    [Fact]
    public void LoadFromText_NoDpopSection_AppliesDefaults()
    {
        var policy = PolicyAssert.Loaded(LoadGateway("gateway:\n  audience: https://gateway.example"));

        Assert.Equal(["ES256", "EdDSA", "RS256", "PS256"], policy.Gateway.Dpop.Algorithms);
        Assert.Equal(TimeSpan.FromSeconds(60), policy.Gateway.Dpop.IatWindow);
        Assert.Equal(TimeSpan.FromSeconds(5), policy.Gateway.Dpop.ClockSkew);
        Assert.False(policy.Gateway.Dpop.RequireNonce);
        Assert.Equal(TimeSpan.FromMinutes(5), policy.Gateway.Dpop.NonceLifetime);
        Assert.Null(policy.Gateway.Dpop.PublicBaseUrl);
        Assert.Equal(10 * 1024 * 1024, policy.Gateway.MaxRequestBodyBytes);
    }

    [Fact]
    public void LoadFromText_EveryDpopKey_IsMapped()
    {
        var policy = PolicyAssert.Loaded(LoadGateway("""
            gateway:
              audience: https://gateway.example
              max_request_body_bytes: 4096
              dpop:
                algorithms: [EdDSA, ES256]
                iat_window: 30s
                clock_skew: 0s
                require_nonce: true
                nonce_lifetime: 2m
                public_base_url: https://agents.example/gw
            """));

        var dpop = policy.Gateway.Dpop;
        Assert.Equal(["EdDSA", "ES256"], dpop.Algorithms);
        Assert.Equal(TimeSpan.FromSeconds(30), dpop.IatWindow);
        Assert.Equal(TimeSpan.Zero, dpop.ClockSkew);
        Assert.True(dpop.RequireNonce);
        Assert.Equal(TimeSpan.FromMinutes(2), dpop.NonceLifetime);
        Assert.Equal(new Uri("https://agents.example/gw"), dpop.PublicBaseUrl);
        Assert.Equal(4096, policy.Gateway.MaxRequestBodyBytes);
    }

    [Fact]
    public void LoadFromText_MisspelledDpopKey_SuggestsTheRightOne()
    {
        var result = LoadGateway("gateway:\n  audience: https://gateway.example\n  dpop:\n    requre_nonce: true");

        PolicyAssert.SingleError(result, 4, 5, "unknown key 'requre_nonce' in 'gateway.dpop' (did you mean 'require_nonce'?)");
    }

    [Theory]
    [InlineData("algorithms: [HS256]", 4, 18, "never accepted")]
    [InlineData("algorithms: [none]", 4, 18, "never accepted")]
    [InlineData("iat_window: 2h", 4, 17, "at most 1h")]
    [InlineData("iat_window: 0s", 4, 17, "longer than zero")]
    [InlineData("clock_skew: 10m", 4, 17, "at most 5m")]
    [InlineData("require_nonce: yes", 4, 20, "true or false")]
    [InlineData("public_base_url: /relative", 4, 22, "absolute http(s) URL")]
    [InlineData("public_base_url: https://a.example/?q=1", 4, 22, "without user info, query or fragment")]
    [InlineData("public_base_url: ftp://a.example", 4, 22, "absolute http(s) URL")]
    public void LoadFromText_BadDpopValue_IsReportedAtItsPosition(string line, int row, int column, string fragment)
    {
        var result = LoadGateway($"gateway:\n  audience: https://gateway.example\n  dpop:\n    {line}");

        PolicyAssert.SingleError(result, row, column, fragment);
    }

    [Fact]
    public void LoadFromText_NegativeBodyLimit_IsReported()
    {
        PolicyAssert.SingleError(LoadGateway("gateway:\n  audience: https://gateway.example\n  max_request_body_bytes: -1"), 3, 27, "at least 0");
    }
}
