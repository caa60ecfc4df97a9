using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.Revocation;

/// <summary>
/// Revocation as an analyst and an agent see it, through one real gateway: each kind of rule (contract section 4,
/// check 3), the admin API's refusals (section 6), and what the audit trail records. Run once on the in-memory
/// store and once on a real redis-server; replicas are in <see cref="RevocationPropagationTests"/>.
/// </summary>
public abstract class GatewayRevocationTests<TFixture>(TFixture fixture)
    where TFixture : RevocationGatewayFixture
{
    protected TFixture Fixture { get; } = fixture;

    private TestGateway Gateway => Fixture.Gateway;

    private string Token(string sub, params string[] actors) => Mint(Fixture.Issuer, sub, actors);

    [Fact]
    public async Task PostRevocation_ByJti_RefusesThatTokenOnlyAndNeverForwardsIt()
    {
        var sub = Unique("user:jti-");
        var revoked = Token(sub, "agent:planner");
        var sibling = Token(sub, "agent:planner");
        await AssertAllowedAsync(await CallAsync(Gateway, revoked, "jti-before"));

        var rule = await RevokeAsync(Gateway, "jti", Jti(revoked));

        Assert.StartsWith("rev_", rule.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(Jti(revoked), rule.GetProperty("jti").GetString());
        await AssertRevokedAsync(await CallAsync(Gateway, revoked, "jti-after"), rule.GetProperty("id").GetString(), "This token has been revoked");
        await AssertAllowedAsync(await CallAsync(Gateway, sibling, "jti-sibling"));
        Assert.DoesNotContain(Fixture.Upstream.Received, r => r.Path.EndsWith("/jti-after", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostRevocation_ByAgent_RefusesTheCallingAgentAndEveryChainItIsAnEarlierActorIn()
    {
        var sub = Unique("user:agent-");
        var agent = Unique("agent:compromised-");
        var calling = Token(sub, agent);
        var earlier = Token(sub, "agent:executor", agent);
        var earliest = Token(sub, "agent:executor", "agent:planner", agent);
        var other = Token(sub, "agent:executor", "agent:planner");

        var rule = (await RevokeAsync(Gateway, "agent", agent)).GetProperty("id").GetString();

        await AssertRevokedAsync(await CallAsync(Gateway, calling), rule, "calling agent");
        await AssertRevokedAsync(await CallAsync(Gateway, earlier), rule, "earlier in this token's delegation chain");
        await AssertRevokedAsync(await CallAsync(Gateway, earliest), rule, "earlier in this token's delegation chain");
        await AssertAllowedAsync(await CallAsync(Gateway, other));
    }

    [Fact]
    public async Task PostRevocation_BySub_RefusesEveryAgentActingForThatUser()
    {
        var sub = Unique("user:sub-");
        var first = Token(sub, "agent:planner");
        var second = Token(sub, "agent:executor", "agent:planner");
        var otherUser = Token(Unique("user:other-"), "agent:planner");

        var rule = (await RevokeAsync(Gateway, "sub", sub)).GetProperty("id").GetString();

        await AssertRevokedAsync(await CallAsync(Gateway, first), rule, "Tokens for this user have been revoked");
        await AssertRevokedAsync(await CallAsync(Gateway, second), rule, "Tokens for this user have been revoked");
        await AssertAllowedAsync(await CallAsync(Gateway, otherUser));
    }

    [Fact]
    public async Task PostRevocation_ByClientId_RefusesThatRuntimesTokensOnly()
    {
        var client = Unique("runtime-");
        var sub = Unique("user:client-");
        var ofClient = Mint(Fixture.Issuer, sub, ["agent:planner"], clientId: client);
        var otherClient = Mint(Fixture.Issuer, sub, ["agent:planner"], clientId: Unique("runtime-"));
        var noClient = Mint(Fixture.Issuer, sub, ["agent:planner"], clientId: null);

        var rule = (await RevokeAsync(Gateway, "client_id", client)).GetProperty("id").GetString();

        await AssertRevokedAsync(await CallAsync(Gateway, ofClient), rule, "client_id");
        await AssertAllowedAsync(await CallAsync(Gateway, otherClient));
        await AssertAllowedAsync(await CallAsync(Gateway, noClient));
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("sub")]
    [InlineData("client_id")]
    [InlineData("jti")]
    public async Task PostRevocation_IssuedBefore_RefusesTokensIssuedEarlierAndAcceptsTokensIssuedAtOrAfterTheCutOff(string kind)
    {
        // iat is whole seconds; the cut-off is strict: iat = T - 1 s is revoked, iat = T is not.
        var cutOff = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var sub = Unique("user:cutoff-");
        var agent = Unique("agent:cutoff-");
        var client = Unique("runtime-");
        var jti = Unique("jti-");
        var older = Mint(Fixture.Issuer, sub, [agent], client, jti, cutOff.AddSeconds(-1));
        var muchOlder = Mint(Fixture.Issuer, sub, [agent], client, jti, cutOff.AddMinutes(-5));
        var atCutOff = Mint(Fixture.Issuer, sub, [agent], client, jti, cutOff);
        var value = kind switch { "agent" => agent, "sub" => sub, "client_id" => client, _ => jti };

        var rule = await RevokeAsync(Gateway, kind, value, issuedBefore: cutOff);

        Assert.Equal(cutOff, rule.GetProperty("issued_before").GetDateTimeOffset());
        Assert.Equal(cutOff + TimeSpan.FromHours(1) + TimeSpan.FromSeconds(30), rule.GetProperty("expires_at").GetDateTimeOffset());
        var id = rule.GetProperty("id").GetString();
        await AssertRevokedAsync(await CallAsync(Gateway, older), id);
        await AssertRevokedAsync(await CallAsync(Gateway, muchOlder), id);
        await AssertAllowedAsync(await CallAsync(Gateway, atCutOff));
    }

    [Fact]
    public async Task PostRevocation_ByParentJti_CutsOffEveryTokenDelegatedFromIt()
    {
        var sub = Unique("user:family-");
        var parentJti = Unique("parent-");
        var childJti = Unique("child-");
        var parent = Mint(Fixture.Issuer, sub, ["agent:planner"], jti: parentJti);
        var child = Mint(Fixture.Issuer, sub, ["agent:executor", "agent:planner"], jti: childJti, chain: [parentJti]);
        var grandchild = Mint(Fixture.Issuer, sub, ["agent:worker", "agent:executor", "agent:planner"], chain: [childJti, parentJti]);
        var cousin = Mint(Fixture.Issuer, sub, ["agent:executor", "agent:planner"], chain: [Unique("other-parent-")]);
        await AssertAllowedAsync(await CallAsync(Gateway, grandchild));

        var rule = (await RevokeAsync(Gateway, "jti", parentJti)).GetProperty("id").GetString();

        await AssertRevokedAsync(await CallAsync(Gateway, parent), rule, "This token has been revoked");
        await AssertRevokedAsync(await CallAsync(Gateway, child), rule, "A token this one was delegated from has been revoked");
        await AssertRevokedAsync(await CallAsync(Gateway, grandchild), rule, "A token this one was delegated from has been revoked");
        await AssertAllowedAsync(await CallAsync(Gateway, cousin));
    }

    [Fact]
    public async Task PostRevocation_OfAChild_LeavesItsParentWorking()
    {
        var sub = Unique("user:family-");
        var parentJti = Unique("parent-");
        var childJti = Unique("child-");
        var parent = Mint(Fixture.Issuer, sub, ["agent:planner"], jti: parentJti);
        var child = Mint(Fixture.Issuer, sub, ["agent:executor", "agent:planner"], jti: childJti, chain: [parentJti]);

        var rule = (await RevokeAsync(Gateway, "jti", childJti)).GetProperty("id").GetString();

        await AssertRevokedAsync(await CallAsync(Gateway, child), rule);
        await AssertAllowedAsync(await CallAsync(Gateway, parent));
    }

    [Fact]
    public async Task PostRevocation_WithWrongOrMissingAdminKey_Is401AndChangesNothing()
    {
        var agent = Unique("agent:keyless-");
        var token = Token(Unique("user:keyless-"), agent);
        var before = await CountAsync(Gateway);
        var body = $$"""{"agent":"{{agent}}","reason":"test: no key"}""";
        (string Name, Action<HttpRequestHeaders> Configure)[] attempts =
        [
            ("no Authorization header", _ => { }),
            ("a wrong key", h => h.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-admin-key")),
            ("the key with one more character", h => h.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey + "x")),
            ("the key with one character less", h => h.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey[..^1])),
            ("the key as Basic credentials", h => h.Authorization = new AuthenticationHeaderValue("Basic", TestGateway.AdminKey)),
            ("an empty Bearer", h => h.TryAddWithoutValidation("Authorization", "Bearer ")),
            ("two Authorization headers, one right", h =>
            {
                h.TryAddWithoutValidation("Authorization", "Bearer " + TestGateway.AdminKey);
                h.TryAddWithoutValidation("Authorization", "Bearer wrong");
            }),
            ("the agent's own capability token", h => h.Authorization = new AuthenticationHeaderValue("Bearer", token)),
        ];

        foreach (var (name, configure) in attempts)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/revocations") { Content = Json(body) };
            configure(request.Headers);
            using var response = await Gateway.Admin.SendAsync(request);

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)response.StatusCode}");
            await AssertAdminProblemAsync(response, 401, "unauthorized");
            Assert.StartsWith("Bearer", ProblemAssert.Challenge(response), StringComparison.Ordinal);
        }

        using var anonymousList = await Gateway.Admin.GetAsync("/revocations");
        await AssertAdminProblemAsync(anonymousList, 401, "unauthorized");
        Assert.Equal(before, await CountAsync(Gateway));
        await AssertAllowedAsync(await CallAsync(Gateway, token));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""["agent:x"]""", "must be a JSON object")]
    [InlineData("""{"reason":"test"}""", "Name what to revoke with exactly one of jti, agent, sub, client_id")]
    [InlineData("""{"jti":"a","sub":"user:b","reason":"test"}""", "the body names both 'jti' and 'sub'")]
    [InlineData("""{"agent":"agent:x","isued_before":"2026-03-01T09:30:00Z","reason":"test"}""", "Unknown member 'isued_before' (did you mean 'issued_before'?)")]
    [InlineData("""{"agent":"agent:x","user":"alice","reason":"test"}""", "Unknown member 'user'")]
    [InlineData("""{"agent":"agent:x"}""", "'reason' is required")]
    [InlineData("""{"agent":"agent:x","reason":"   "}""", "'reason' must say why")]
    [InlineData("""{"agent":"agent:x","reason":"line\nbreak"}""", "'reason' contains control characters")]
    [InlineData("""{"agent":"agent:x","reason":7}""", "'reason' must be a string")]
    [InlineData("""{"agent":"","reason":"test"}""", "'agent' must not be empty")]
    [InlineData("""{"agent":42,"reason":"test"}""", "'agent' must be a string")]
    [InlineData("""{"sub":" user:alice","reason":"test"}""", "'sub' starts or ends with white space")]
    [InlineData("""{"agent":"agent:x","issued_before":"2026-03-01T09:30:00","reason":"test"}""", "'issued_before' must be an RFC 3339 date-time with an offset")]
    [InlineData("""{"agent":"agent:x","issued_before":"yesterday","reason":"test"}""", "'issued_before' must be an RFC 3339 date-time with an offset")]
    [InlineData("""{"agent":"agent:x","issued_before":"2999-01-01T00:00:00Z","reason":"test"}""", "'issued_before' is in the future")]
    [InlineData("""{"agent":"agent:x","issued_before":"2001-01-01T00:00:00Z","reason":"test"}""", "every token issued before it has already expired")]
    public async Task PostRevocation_MalformedBody_Is400WithASpecificDetailAndChangesNothing(string body, string detail)
    {
        var before = await CountAsync(Gateway);

        using var response = await Gateway.AdminSendAsync(HttpMethod.Post, "/revocations", Json(body));

        Assert.Contains(detail, await AssertAdminProblemAsync(response, 400, "invalid_request"), StringComparison.Ordinal);
        Assert.Equal(before, await CountAsync(Gateway));
    }

    [Fact]
    public async Task PostRevocation_TooLongValueOrReasonOrBody_Is400()
    {
        var longValue = $$"""{"agent":"{{new string('a', 1025)}}","reason":"test"}""";
        var longReason = $$"""{"agent":"agent:x","reason":"{{new string('r', 501)}}"}""";
        var hugeBody = $$"""{"agent":"agent:x","reason":"{{new string('r', 20_000)}}"}""";

        using var value = await Gateway.AdminSendAsync(HttpMethod.Post, "/revocations", Json(longValue));
        using var reason = await Gateway.AdminSendAsync(HttpMethod.Post, "/revocations", Json(longReason));
        using var body = await Gateway.AdminSendAsync(HttpMethod.Post, "/revocations", Json(hugeBody));

        Assert.Contains("'agent' is longer than 1024 characters", await AssertAdminProblemAsync(value, 400, "invalid_request"), StringComparison.Ordinal);
        Assert.Contains("'reason' is longer than 500 characters", await AssertAdminProblemAsync(reason, 400, "invalid_request"), StringComparison.Ordinal);
        Assert.Contains("larger than", await AssertAdminProblemAsync(body, 400, "invalid_request"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetRevocations_ListsEveryRuleWithItsFields()
    {
        var before = await CountAsync(Gateway);
        var agent = Unique("agent:listed-");
        var sub = Unique("user:listed-");
        var cutOff = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60);

        var byAgent = await RevokeAsync(Gateway, "agent", agent, reason: "INC-1: runtime compromised");
        var bySub = await RevokeAsync(Gateway, "sub", sub, issuedBefore: cutOff, reason: "INC-2: password reset");
        var list = await ListAsync(Gateway);

        Assert.Equal(before + 2, list.GetProperty("count").GetInt32());
        var rules = list.GetProperty("revocations").EnumerateArray().ToArray();
        var listedAgent = Assert.Single(rules, r => r.GetProperty("id").GetString() == byAgent.GetProperty("id").GetString());
        var listedSub = Assert.Single(rules, r => r.GetProperty("id").GetString() == bySub.GetProperty("id").GetString());
        Assert.Equal(byAgent.GetRawText(), listedAgent.GetRawText());
        Assert.Equal(bySub.GetRawText(), listedSub.GetRawText());

        Assert.Equal(agent, listedAgent.GetProperty("agent").GetString());
        Assert.Equal("INC-1: runtime compromised", listedAgent.GetProperty("reason").GetString());
        Assert.False(listedAgent.TryGetProperty("issued_before", out _));
        var created = listedAgent.GetProperty("created_at").GetDateTimeOffset();
        Assert.InRange(created, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(created + TimeSpan.FromHours(1) + TimeSpan.FromSeconds(60), listedAgent.GetProperty("expires_at").GetDateTimeOffset());

        Assert.Equal(sub, listedSub.GetProperty("sub").GetString());
        Assert.Equal(cutOff, listedSub.GetProperty("issued_before").GetDateTimeOffset());
        Assert.Equal(cutOff + TimeSpan.FromHours(1) + TimeSpan.FromSeconds(30), listedSub.GetProperty("expires_at").GetDateTimeOffset());

        // Oldest first, so the newest are at the end.
        var order = rules.Select(r => r.GetProperty("created_at").GetDateTimeOffset()).ToArray();
        Assert.Equal(order.Order(), order);
    }

    [Fact]
    public async Task RevokedCall_IsAuditedAsDenyInvalidToken_AndTheRevocationAsAnAdminAction()
    {
        var agent = Unique("agent:audited-");
        var token = Token(Unique("user:audited-"), agent);
        var rule = await RevokeAsync(Gateway, "agent", agent);
        var refused = await CallAsync(Gateway, token, "audited");
        await AssertRevokedAsync(refused, rule.GetProperty("id").GetString());
        var decisionId = Assert.Single(refused.Headers.GetValues("Gateway-Decision-Id"));

        var path = Path.Combine(Gateway.Directory, "audit", "decisions.jsonl");
        var events = await EventuallyReadAsync(path, lines =>
            lines.Any(e => e.GetProperty("event_id").GetString() == decisionId)
            && lines.Any(e => e.GetProperty("decision").GetString() == "admin" && e.GetProperty("admin").GetProperty("target").GetString() == "agent:" + agent));

        var deny = Assert.Single(events, e => e.GetProperty("event_id").GetString() == decisionId);
        Assert.Equal("deny", deny.GetProperty("decision").GetString());
        Assert.Equal("invalid_token", deny.GetProperty("error").GetString());
        Assert.Equal(401, deny.GetProperty("status").GetInt32());
        Assert.Equal("crm-get-customer", deny.GetProperty("route").GetString());

        // The token was valid, only revoked: its claims are recorded, so the analyst can find the agent's refusals.
        Assert.Equal(agent, deny.GetProperty("token").GetProperty("agent").GetString());
        Assert.Equal(Jti(token), deny.GetProperty("token").GetProperty("jti").GetString());
        var admin = Assert.Single(events, e => e.GetProperty("decision").GetString() == "admin" && e.GetProperty("admin").GetProperty("target").GetString() == "agent:" + agent);
        Assert.Equal("revocation.create", admin.GetProperty("admin").GetProperty("action").GetString());
        Assert.Equal(201, admin.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(admin.GetProperty("admin").GetProperty("key_id").GetString()));
        Assert.DoesNotContain(TestGateway.AdminKey, await File.ReadAllTextAsync(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_SaysTheRevocationsAreLoaded()
    {
        using var response = await Gateway.Admin.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("loaded", json.GetProperty("revocations").GetString());
    }

    /// <summary>The audit file's whole lines, polled until <paramref name="done"/> holds; also used by the signals tests.</summary>
    internal static async Task<JsonElement[]> EventuallyReadAsync(string path, Func<JsonElement[], bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        JsonElement[] events = [];
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                string text;
                await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                using (var reader = new StreamReader(stream))
                {
                    text = await reader.ReadToEndAsync();
                }

                // The writer may be half-way through a line; only whole lines are read.
                events = [.. text.Split('\n').SkipLast(1).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
                if (done(events))
                {
                    return events;
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail($"The audit file {path} did not get the expected events; it has {events.Length}.");
        return events;
    }
}

public sealed class InMemoryGatewayRevocationTests(InMemoryRevocationGatewayFixture fixture)
    : GatewayRevocationTests<InMemoryRevocationGatewayFixture>(fixture), IClassFixture<InMemoryRevocationGatewayFixture>;

public sealed class RedisGatewayRevocationTests(RedisRevocationGatewayFixture fixture)
    : GatewayRevocationTests<RedisRevocationGatewayFixture>(fixture), IClassFixture<RedisRevocationGatewayFixture>;
