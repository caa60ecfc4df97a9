using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Testing;

namespace Gateway.FunctionalTests.Dpop;

/// <summary>DPoP-bound tokens through a real gateway: only the key holder's fresh, once-used proof gets a call through.</summary>
public sealed class DpopGatewayTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>, IDisposable
{
    private const string Algs = "algs=\"ES256 EdDSA Ed25519 RS256 PS256\"";

    private readonly TestDpopKey _key = TestDpopKey.Create();

    public void Dispose() => _key.Dispose();

    [Fact]
    public async Task Get_ValidProof_IsForwardedWithoutCredentials()
    {
        var (path, token) = Bound("valid");

        var response = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, _key.Proof("GET", DpopClient.Url(fixture.Gateway, path), token));

        Assert.Equal(200, (int)response.StatusCode);
        var forwarded = Assert.Single(fixture.Upstream.Received, r => r.Path == path);
        Assert.False(forwarded.Headers.ContainsKey("DPoP"));
        Assert.False(forwarded.Headers.ContainsKey("Authorization"));
        Assert.False(response.Headers.Contains("DPoP-Nonce"));
    }

    public static TheoryData<string, string> BrokenProofs => new()
    {
        { "typ", "wrong_type" },
        { "alg-none", "algorithm_not_allowed" },
        { "alg-hs256", "algorithm_not_allowed" },
        { "jwk-private", "invalid_key" },
        { "jwk-missing", "invalid_key" },
        { "signature", "signature_invalid" },
        { "htm", "method_mismatch" },
        { "htu-path", "uri_mismatch" },
        { "htu-port", "uri_mismatch" },
        { "iat-old", "stale" },
        { "iat-future", "issued_in_future" },
        { "ath", "token_hash_mismatch" },
        { "ath-missing", "missing_claim" },
        { "jti-missing", "missing_claim" },
        { "missing", "missing_proof" },
        { "two-joined", "malformed" },
        { "garbage", "malformed" },
    };

    [Theory]
    [MemberData(nameof(BrokenProofs))]
    public async Task Get_BrokenProof_Gets401InvalidDpopProof_AndIsNotForwarded(string kind, string reason)
    {
        var (path, token) = Bound("broken-" + kind);
        var url = DpopClient.Url(fixture.Gateway, path);
        var now = DateTimeOffset.UtcNow;
        string?[] proofs = kind switch
        {
            "missing" => [],
            "two-joined" => [_key.Proof("GET", url, token), _key.Proof("GET", url, token)],
            "garbage" => ["not-a-proof"],
            "signature" => [_key.Proof("GET", url, token)[..^4] + "AAAA"],
            _ => [_key.Proof("GET", url, token, edit: (header, claims) =>
            {
                switch (kind)
                {
                    case "typ": header["typ"] = "JWT"; break;
                    case "alg-none": header["alg"] = "none"; break;
                    case "alg-hs256": header["alg"] = "HS256"; break;
                    case "jwk-private": header["jwk"] = _key.PrivateJwk(); break;
                    case "jwk-missing": header.Remove("jwk"); break;
                    case "htm": claims["htm"] = "DELETE"; break;
                    case "htu-path": claims["htu"] = url.Replace("broken-htu-path", "other", StringComparison.Ordinal); break;
                    case "htu-port": claims["htu"] = url.Replace(":" + fixture.Gateway.Address.Port, ":1", StringComparison.Ordinal); break;
                    case "iat-old": claims["iat"] = now.AddMinutes(-2).ToUnixTimeSeconds(); break;
                    case "iat-future": claims["iat"] = now.AddMinutes(2).ToUnixTimeSeconds(); break;
                    case "ath": claims["ath"] = TestDpopKey.AccessTokenHash(token + "x"); break;
                    case "ath-missing": claims.Remove("ath"); break;
                    case "jti-missing": claims.Remove("jti"); break;
                }
            })],
        };

        var response = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, proofs);

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof");
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        var challenge = ProblemAssert.Challenge(response);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\", error_description=\"", challenge, StringComparison.Ordinal);
        Assert.EndsWith(Algs, challenge, StringComparison.Ordinal);
        Assert.Equal(0, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Get_TwoDpopHeaderLines_AreRefusedAsMultipleProofs()
    {
        var (path, token) = Bound("two-lines");
        var url = DpopClient.Url(fixture.Gateway, path);

        // HttpClient joins repeated headers into one line; a raw request sends them as two.
        var response = await RawHttp.SendAsync(fixture.Gateway.Address,
            $"GET {path} HTTP/1.1\r\nHost: {fixture.Gateway.Address.Authority}\r\nAuthorization: DPoP {token}\r\n"
            + $"DPoP: {_key.Proof("GET", url, token)}\r\nDPoP: {_key.Proof("GET", url, token)}\r\nConnection: close\r\n\r\n");

        Assert.Equal(401, response.Status);
        Assert.Contains("\"reason\":\"multiple_proofs\"", response.Body, StringComparison.Ordinal);
        Assert.Equal(0, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Get_ReplayedProof_IsRefused()
    {
        var (path, token) = Bound("replayed");
        var proof = _key.Proof("GET", DpopClient.Url(fixture.Gateway, path), token);

        var first = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, proof);
        var second = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, proof);

        Assert.Equal(200, (int)first.StatusCode);
        var problem = await ProblemAssert.IsProblemAsync(second, 401, "invalid_dpop_proof");
        Assert.Equal("replayed", problem.GetProperty("reason").GetString());
        Assert.Equal(1, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Request_ProofForAnotherUrlOrMethod_IsRefused()
    {
        var (path, token) = Bound("elsewhere");
        var otherPath = Bound("elsewhere-other").Path;

        var otherUrl = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, _key.Proof("GET", DpopClient.Url(fixture.Gateway, otherPath), token));
        var otherMethod = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, _key.Proof("PATCH", DpopClient.Url(fixture.Gateway, path), token));

        Assert.Equal("uri_mismatch", (await ProblemAssert.IsProblemAsync(otherUrl, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Equal("method_mismatch", (await ProblemAssert.IsProblemAsync(otherMethod, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Equal(0, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Get_ProofByAnotherKey_IsRefused()
    {
        var (path, token) = Bound("thief");
        using var thief = TestDpopKey.Create();

        var response = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, thief.Proof("GET", DpopClient.Url(fixture.Gateway, path), token));

        Assert.Equal("key_mismatch", (await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Equal(0, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Get_BoundTokenSentAsBearer_IsRefused()
    {
        var (path, token) = Bound("as-bearer");

        var response = await fixture.SendAsync(HttpMethod.Get, path, token);

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof");
        Assert.Equal("bound_token_as_bearer", problem.GetProperty("reason").GetString());
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", ProblemAssert.Challenge(response), StringComparison.Ordinal);
        Assert.Equal(0, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Get_BoundTokenAsBearerWithAValidProof_IsStillRefused()
    {
        var (path, token) = Bound("as-bearer-proof");

        var response = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, _key.Proof("GET", DpopClient.Url(fixture.Gateway, path), token), scheme: "Bearer");

        Assert.Equal("bound_token_as_bearer", (await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Get_UnboundTokenUnderDpopScheme_IsRefusedAsNotBound()
    {
        var path = "/crm/customers/unbound-dpop";
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/unbound-dpop"));

        var response = await DpopClient.SendAsync(fixture.Gateway, HttpMethod.Get, path, token, _key.Proof("GET", DpopClient.Url(fixture.Gateway, path), token));

        Assert.Equal("token_not_bound", (await ProblemAssert.IsProblemAsync(response, 401, "invalid_dpop_proof")).GetProperty("reason").GetString());
        Assert.Equal(0, fixture.ForwardedCount(path));
    }

    [Fact]
    public async Task Get_UnboundBearerTokenWithOptionalConstraint_IsForwarded()
    {
        var path = "/crm/customers/unbound-bearer";
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/unbound-bearer"));

        var response = await fixture.SendAsync(HttpMethod.Get, path, token);

        Assert.Equal(200, (int)response.StatusCode);
    }

    private (string Path, string Token) Bound(string id)
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/" + id);
        claims["cnf"] = new JsonObject { ["jkt"] = _key.Thumbprint };
        return ("/crm/customers/" + id, fixture.Issuer.Mint(claims));
    }
}
