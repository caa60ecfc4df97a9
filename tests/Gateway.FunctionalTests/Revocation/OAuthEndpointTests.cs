using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.Revocation;

/// <summary>
/// <c>POST /oauth/revoke</c> (RFC 7009) and <c>POST /oauth/introspect</c> (RFC 7662) on the admin listener, through one
/// real gateway, on the in-memory store and on a real redis-server; a revocation reaching a second replica is in
/// <see cref="RedisOAuthRevocationReplicaTests"/>.
/// </summary>
public abstract class OAuthEndpointTests<TFixture>(TFixture fixture)
    where TFixture : RevocationGatewayFixture
{
    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task Revoke_AValidToken_RevokesItsJti_AndEveryTokenDelegatedFromIt()
    {
        var sub = Unique("user:oauth-");
        var parentJti = Unique("parent-");
        var parent = Mint(fixture.Issuer, sub, ["agent:planner"], jti: parentJti);
        var child = Mint(fixture.Issuer, sub, ["agent:executor", "agent:planner"], chain: [parentJti]);
        var sibling = Mint(fixture.Issuer, sub, ["agent:planner"]);
        await AssertAllowedAsync(await CallAsync(Gateway, child));

        using var response = await PostFormAsync(Gateway, "/oauth/revoke", ("token", parent), ("token_type_hint", "access_token"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        await AssertRevokedAsync(await CallAsync(Gateway, parent), detailContains: "This token has been revoked");
        await AssertRevokedAsync(await CallAsync(Gateway, child), detailContains: "A token this one was delegated from has been revoked");
        await AssertAllowedAsync(await CallAsync(Gateway, sibling));
        var rule = (await ListAsync(Gateway)).GetProperty("revocations").EnumerateArray().Single(r => r.TryGetProperty("jti", out var jti) && jti.GetString() == parentJti);
        Assert.Contains("RFC 7009", rule.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_AnInvalidUnknownOrExpiredToken_Is200_AndRevokesNothing()
    {
        using var stranger = new TestIssuer("https://stranger.test");
        var before = await CountAsync(Gateway);
        string[] tokens =
        [
            "not-a-token",
            Mint(stranger, Unique("user:stranger-"), ["agent:planner"]),
            Mint(fixture.Issuer, Unique("user:expired-"), ["agent:planner"], issuedAt: DateTimeOffset.UtcNow.AddHours(-2)),
        ];

        foreach (var token in tokens)
        {
            using var response = await PostFormAsync(Gateway, "/oauth/revoke", ("token", token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(before, await CountAsync(Gateway));
    }

    [Theory]
    [InlineData("form", "", "'token' parameter is missing")]
    [InlineData("form", "token=a&token=b", "'token' is sent more than once")]
    [InlineData("json", """{"token":"x"}""", "application/x-www-form-urlencoded")]
    public async Task RevokeAndIntrospect_MalformedRequests_AreRfc6749InvalidRequest(string kind, string body, string description)
    {
        var before = await CountAsync(Gateway);
        foreach (var path in new[] { "/oauth/revoke", "/oauth/introspect" })
        {
            using var content = new StringContent(body, Encoding.UTF8, kind == "form" ? "application/x-www-form-urlencoded" : "application/json");
            using var response = await Gateway.AdminSendAsync(HttpMethod.Post, path, content);

            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var error = JsonDocument.Parse(text).RootElement;
            Assert.Equal("invalid_request", error.GetProperty("error").GetString());
            Assert.Contains(description, error.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await CountAsync(Gateway));
    }

    [Fact]
    public async Task RevokeAndIntrospect_WithoutTheAdminKey_Are401_AndRevokeNothing()
    {
        var token = Mint(fixture.Issuer, Unique("user:nokey-"), ["agent:planner"]);
        foreach (var path in new[] { "/oauth/revoke", "/oauth/introspect" })
        {
            using var content = new FormUrlEncodedContent([new("token", token)]);
            using var response = await Gateway.Admin.PostAsync(path, content);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain("\"active\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await AssertAllowedAsync(await CallAsync(Gateway, token));
    }

    [Fact]
    public async Task Introspect_AnActiveToken_IsActiveWithItsClaimsAndCapability()
    {
        var sub = Unique("user:introspect-");
        var token = Mint(fixture.Issuer, sub, ["agent:executor", "agent:planner"], chain: [Unique("parent-")]);

        using var response = await PostFormAsync(Gateway, "/oauth/introspect", ("token", token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var minted = Payload(token);
        Assert.True(json.GetProperty("active").GetBoolean());
        Assert.Equal("Bearer", json.GetProperty("token_type").GetString());
        foreach (var claim in minted.EnumerateObject())
        {
            Assert.Equal(claim.Value.GetRawText(), json.GetProperty(claim.Name).GetRawText());
        }

        Assert.Equal(sub, json.GetProperty("sub").GetString());
        Assert.Equal("agent:executor", json.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal(JsonValueKind.Array, json.GetProperty("authorization_details").ValueKind);
        Assert.Equal(JsonValueKind.Array, json.GetProperty("cap").GetProperty("chain").ValueKind);
    }

    [Fact]
    public async Task Introspect_ARevokedExpiredOrForeignToken_IsOnlyInactive()
    {
        using var stranger = new TestIssuer("https://stranger.test");
        var revoked = Mint(fixture.Issuer, Unique("user:gone-"), ["agent:planner"]);
        (await PostFormAsync(Gateway, "/oauth/revoke", ("token", revoked))).Dispose();
        string[] tokens =
        [
            revoked,
            Mint(fixture.Issuer, Unique("user:expired-"), ["agent:planner"], issuedAt: DateTimeOffset.UtcNow.AddHours(-2)),
            Mint(stranger, Unique("user:stranger-"), ["agent:planner"]),
            "garbage",
        ];

        foreach (var token in tokens)
        {
            using var response = await PostFormAsync(Gateway, "/oauth/introspect", ("token", token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("""{"active":false}""", await response.Content.ReadAsStringAsync());
        }
    }

}

public sealed class InMemoryOAuthEndpointTests(InMemoryRevocationGatewayFixture fixture)
    : OAuthEndpointTests<InMemoryRevocationGatewayFixture>(fixture), IClassFixture<InMemoryRevocationGatewayFixture>;

public sealed class RedisOAuthEndpointTests(RedisRevocationGatewayFixture fixture)
    : OAuthEndpointTests<RedisRevocationGatewayFixture>(fixture), IClassFixture<RedisRevocationGatewayFixture>;

/// <summary>An RFC 7009 revocation posted to one replica is enforced by another on the same Redis within the contract's second.</summary>
public sealed class RedisOAuthRevocationReplicaTests(RedisRevocationGatewayFixture fixture) : IClassFixture<RedisRevocationGatewayFixture>
{
    [Fact]
    public async Task Revoke_OnReplicaA_IsEnforcedByReplicaB_WithinOneSecond()
    {
        await using var b = await fixture.StartReplicaAsync();

        // A replica that has just started may not have its announcement subscription yet (it then converges by its
        // one-second resync): the first revocation shows B is listening, the second is the one measured.
        var warmUp = await RevokeAndWaitAsync(b, Mint(fixture.Issuer, Unique("user:warm-up-"), ["agent:planner"]), TimeSpan.FromSeconds(5));
        var elapsed = await RevokeAndWaitAsync(b, Mint(fixture.Issuer, Unique("user:replica-"), ["agent:planner"]), TimeSpan.FromSeconds(5));

        Console.WriteLine($"RFC 7009 revocation: replica B refused the token {elapsed.TotalMilliseconds:F1} ms after replica A was asked (warm-up {warmUp.TotalMilliseconds:F1} ms)");
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"replica B still allowed the token {elapsed.TotalMilliseconds:F0} ms after replica A was asked");
    }

    /// <summary>Revokes <paramref name="token"/> on replica A and polls replica B until it refuses it; the time from the request to the refusal.</summary>
    private async Task<TimeSpan> RevokeAndWaitAsync(TestGateway b, string token, TimeSpan limit)
    {
        await AssertAllowedAsync(await CallAsync(b, token));
        var clock = Stopwatch.StartNew();
        using (var response = await PostFormAsync(fixture.Gateway, "/oauth/revoke", ("token", token)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        HttpStatusCode status;
        do
        {
            using var call = await CallAsync(b, token);
            status = call.StatusCode;
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < limit);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        return clock.Elapsed;
    }
}
