using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

/// <summary>Every hostile token gets 401 invalid_token with a Bearer challenge, and nothing is forwarded.</summary>
public sealed class TokenRefusalTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string> HostileTokens =>
    [
        "alg-none", "hs256-public-key", "wrong-key", "unknown-kid", "expired", "not-yet-valid", "too-long-lived",
        "wrong-aud", "wrong-iss", "wrong-typ", "tampered", "garbage", "jku-header", "jwk-header", "x5u-header",
        "crit-header", "no-act", "no-jti", "no-sub", "no-authorization-details", "bad-grant", "two-segments", "empty",
    ];

    [Theory]
    [MemberData(nameof(HostileTokens))]
    public async Task HostileToken_Gets401WithChallenge_AndIsNotForwarded(string kind)
    {
        var marker = "hostile-" + kind;
        var token = Build(kind, fixture.Issuer, "crm:customer/" + marker);

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/" + marker, token);

        await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        var challenge = ProblemAssert.Challenge(response);
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
        Assert.Equal(0, fixture.ForwardedCount(marker));
    }

    [Fact]
    public async Task ProblemBody_NeverEchoesTheToken()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/echo");
        claims["aud"] = "https://elsewhere";
        var token = fixture.Issuer.Mint(claims);

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/echo", token);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(401, (int)response.StatusCode);
        Assert.DoesNotContain(token.Split('.')[1], body, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[1], ProblemAssert.Challenge(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingToken_Gets401()
    {
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/none", token: null);

        await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.StartsWith("Bearer", ProblemAssert.Challenge(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoAuthorizationHeaders_Get401()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/two"));
        var response = await RawHttp.SendAsync(fixture.Gateway.Address,
            $"GET /crm/customers/two HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");

        Assert.Equal(401, response.Status);
        Assert.Equal(0, fixture.ForwardedCount("/two"));
    }

    [Fact]
    public async Task UnknownScheme_Gets401()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/basic"));
        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/basic", null, r => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", token));

        await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
    }

    [Fact]
    public async Task TokenOf64KiB_GetsTheGatewaysOwn401_NotA431()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/big");
        claims["padding"] = new string('a', 64 * 1024);
        var token = fixture.Issuer.Mint(claims);

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/big", token);

        await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
    }

    [Fact]
    public async Task LargeButAllowedToken_IsAccepted()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/large-ok");
        claims["padding"] = new string('a', 40 * 1024);
        var token = fixture.Issuer.Mint(claims);

        var response = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/large-ok", token);

        Assert.Equal(200, (int)response.StatusCode);
    }

    internal static string Build(string kind, TestIssuer issuer, string resource)
    {
        var claims = issuer.Claims(resource: resource);
        var header = issuer.Header();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        switch (kind)
        {
            case "alg-none":
                header["alg"] = "none";
                var unsigned = issuer.Sign(header, claims);
                return unsigned[..(unsigned.LastIndexOf('.') + 1)];
            case "hs256-public-key":
                return issuer.MintHs256WithPublicKey(claims);
            case "wrong-key":
                using (var other = new TestIssuer(issuer.Issuer, issuer.Kid))
                {
                    return other.Mint(claims);
                }

            case "unknown-kid":
                header["kid"] = "no-such-key";
                break;
            case "expired":
                claims["iat"] = now - 1200;
                claims["exp"] = now - 600;
                break;
            case "not-yet-valid":
                claims["nbf"] = now + 600;
                break;
            case "too-long-lived":
                claims["exp"] = now + 7200;
                break;
            case "wrong-aud":
                claims["aud"] = "https://other.example";
                break;
            case "wrong-iss":
                claims["iss"] = "https://evil.example";
                break;
            case "wrong-typ":
                header["typ"] = "JWT";
                break;
            case "tampered":
                var good = issuer.Mint(claims);
                var parts = good.Split('.');
                claims["sub"] = "user:admin";
                return parts[0] + "." + TestIssuer.Base64Url(System.Text.Encoding.UTF8.GetBytes(claims.ToJsonString())) + "." + parts[2];
            case "garbage":
                return "this-is.not-a.jwt";
            case "jku-header":
                header["jku"] = "https://evil.example/jwks.json";
                break;
            case "jwk-header":
                header["jwk"] = TestIssuer.Parse(issuer.JwksJson)["keys"]![0]!.DeepClone();
                break;
            case "x5u-header":
                header["x5u"] = "https://evil.example/cert.pem";
                break;
            case "crit-header":
                header["crit"] = new JsonArray("exp");
                break;
            case "no-act":
                claims.Remove("act");
                break;
            case "no-jti":
                claims.Remove("jti");
                break;
            case "no-sub":
                claims.Remove("sub");
                break;
            case "no-authorization-details":
                claims.Remove("authorization_details");
                break;
            case "bad-grant":
                claims["authorization_details"] = new JsonArray(new JsonObject
                {
                    ["type"] = "agent_capability",
                    ["actions"] = new JsonArray("not an action"),
                    ["resources"] = new JsonArray(resource),
                });
                break;
            case "two-segments":
                var full = issuer.Mint(claims);
                return full[..full.LastIndexOf('.')];
            case "empty":
                return "";
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        return issuer.Sign(header, claims);
    }
}
