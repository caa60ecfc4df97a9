using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.Delegation.DelegationGatewayFixture;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.Delegation;

/// <summary>
/// Attenuated delegation through the real gateway (contract sections 2, 4 check 5, and 6): <c>POST /delegations</c>
/// mints a child only when it narrows its parent, and the child then works on real routes, charges its parent's
/// steps, and falls with its parent when the parent is revoked.
/// </summary>
public sealed class GatewayDelegationTests(DelegationGatewayFixture fixture) : IClassFixture<DelegationGatewayFixture>
{
    private static readonly (string[] Actions, string[] Resources)[] Read42 = [(["crm.customers:read"], ["crm:customer/42"])];

    [Fact]
    public async Task MintedChild_IsIntrospectedActive_ThenRevokedThroughRfc7009_AndIntrospectedInactive()
    {
        var parent = fixture.Parent(Unique("user:introspect-child-"));
        var answer = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42, expiresIn: 300, maxSteps: 3));
        var child = answer.GetProperty("access_token").GetString()!;

        using (var response = await PostFormAsync(fixture.Gateway, "/oauth/introspect", ("token", child)))
        {
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True(json.GetProperty("active").GetBoolean());
            Assert.Equal(DelegationGatewayFixture.DelegationIssuer, json.GetProperty("iss").GetString());
            Assert.Equal(answer.GetProperty("jti").GetString(), json.GetProperty("jti").GetString());
            Assert.Equal("agent:executor", json.GetProperty("act").GetProperty("sub").GetString());
            Assert.Equal(3, json.GetProperty("cap").GetProperty("max_steps").GetInt32());
        }

        (await PostFormAsync(fixture.Gateway, "/oauth/revoke", ("token", child))).Dispose();

        using var after = await PostFormAsync(fixture.Gateway, "/oauth/introspect", ("token", child));
        Assert.Equal("""{"active":false}""", await after.Content.ReadAsStringAsync());
        await AssertRevokedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child));
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", parent));
    }

    [Fact]
    public async Task PostDelegations_WithTheParentAsCredential_MintsANarrowerChildThatWorksOnARealRoute()
    {
        var sub = Unique("user:deleg-");
        var parent = fixture.Parent(sub);
        var parentClaims = Payload(parent);

        var answer = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42, expiresIn: 300, maxSteps: 3));

        Assert.Equal("Bearer", answer.GetProperty("token_type").GetString());
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", answer.GetProperty("issued_token_type").GetString());
        Assert.Equal(3, answer.GetProperty("max_steps").GetInt32());
        Assert.InRange(answer.GetProperty("expires_in").GetInt64(), 1, 300);
        var child = answer.GetProperty("access_token").GetString()!;
        var claims = Payload(child);
        Assert.Equal(answer.GetProperty("jti").GetString(), claims.GetProperty("jti").GetString());
        Assert.Equal(DelegationIssuer, claims.GetProperty("iss").GetString());
        Assert.Equal(sub, claims.GetProperty("sub").GetString());
        Assert.Equal(parentClaims.GetProperty("client_id").GetString(), claims.GetProperty("client_id").GetString());
        Assert.Equal("""{"sub":"agent:executor","act":{"sub":"agent:planner"}}""", claims.GetProperty("act").GetRawText());
        Assert.Equal([Jti(parent)], claims.GetProperty("cap").GetProperty("chain").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal(3, claims.GetProperty("cap").GetProperty("max_steps").GetInt32());
        Assert.Equal(300, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Details(Read42).ToJsonString()), JsonNode.Parse(claims.GetProperty("authorization_details").GetRawText())));

        var marker = Unique("c");
        using var allowed = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42?m=" + marker, child);
        using var otherCustomer = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/43", child);
        using var otherAction = await fixture.SendAsync(HttpMethod.Patch, "/crm/customers/42", child);

        await AssertAllowedAsync(allowed);
        var seen = Assert.Single(fixture.Upstream.Received, r => r.Query.Contains(marker, StringComparison.Ordinal));
        Assert.Equal("agent:executor", seen.Headers["Gateway-Agent"]);
        Assert.Equal(sub, seen.Headers["Gateway-Subject"]);
        Assert.False(seen.Headers.ContainsKey("Authorization"));
        await ProblemAssert.IsProblemAsync(otherCustomer, 403, "insufficient_scope");
        await ProblemAssert.IsProblemAsync(otherAction, 403, "insufficient_scope");
    }

    [Fact]
    public async Task PostDelegations_WithAnAdminKey_MintsTheChild_AndTheAuditNamesTheKeyNotTheAgent()
    {
        var parent = fixture.Parent(Unique("user:deleg-admin-"));

        var answer = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42), Credential.AdminKey);

        var child = answer.GetProperty("access_token").GetString()!;
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child));
        var childJti = answer.GetProperty("jti").GetString()!;
        var audit = await AuditEventAsync(e => e.GetProperty("decision").GetString() == "admin"
            && (e.GetProperty("admin").GetProperty("target").GetString() ?? "").Contains(childJti, StringComparison.Ordinal));
        var admin = audit.GetProperty("admin");
        Assert.Equal("delegation.create", admin.GetProperty("action").GetString());
        Assert.Equal($"parent:{Jti(parent)} child:{childJti} agent:agent:executor", admin.GetProperty("target").GetString());
        Assert.Matches("^[0-9a-f]+$", admin.GetProperty("key_id").GetString());
    }

    [Fact]
    public async Task PostDelegations_ByTheAgentItself_IsAudited()
    {
        var parent = fixture.Parent(Unique("user:deleg-self-"));

        var childJti = (await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42))).GetProperty("jti").GetString()!;

        var audit = await AuditEventAsync(e => e.GetProperty("decision").GetString() == "admin"
            && (e.GetProperty("admin").GetProperty("target").GetString() ?? "").Contains(childJti, StringComparison.Ordinal));
        Assert.Equal("delegation.create", audit.GetProperty("admin").GetProperty("action").GetString());
        Assert.Equal(200, audit.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task PostDelegations_WithoutACredentialOrWithAnotherToken_Is401()
    {
        var parent = fixture.Parent(Unique("user:deleg-auth-"));
        var someoneElse = fixture.Parent(Unique("user:deleg-auth-"));
        var body = Body(parent, "agent:executor", Read42).ToJsonString();

        using var none = await fixture.DelegateAsync(body, bearer: null);
        using var other = await fixture.DelegateAsync(body, someoneElse);
        using var wrongKey = await fixture.DelegateAsync(body, "not-the-admin-key");

        foreach (var response in new[] { none, other, wrongKey })
        {
            await AssertAdminProblemAsync(response, 401, "unauthorized");
            Assert.StartsWith("Bearer", ProblemAssert.Challenge(response), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ChildCalls_ChargeTheParentsSteps_TheParentRunsOutAfterNChildCalls()
    {
        var parent = fixture.Parent(Unique("user:deleg-steps-"), maxSteps: 4);
        using (var first = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", parent))
        {
            await AssertAllowedAsync(first);
            Assert.Equal("3", Assert.Single(first.Headers.GetValues("Gateway-Steps-Remaining")));
        }

        // Without max_steps the child gets what the parent has left.
        var answer = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42));
        Assert.Equal(3, answer.GetProperty("max_steps").GetInt32());
        var child = answer.GetProperty("access_token").GetString()!;

        var remaining = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var call = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child);
            await AssertAllowedAsync(call);
            remaining.Add(Assert.Single(call.Headers.GetValues("Gateway-Steps-Remaining")));
        }

        using var childAgain = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child);
        using var parentAgain = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", parent);
        using var secondChild = await fixture.DelegateAsync(Body(parent, "agent:other", Read42));

        Assert.Equal(["2", "1", "0"], remaining);
        await ProblemAssert.IsProblemAsync(childAgain, 403, "step_limit_exceeded");
        await ProblemAssert.IsProblemAsync(parentAgain, 403, "step_limit_exceeded");
        await AssertDeniedAsync(secondChild, "steps_widening", "no steps left");
    }

    [Fact]
    public async Task ChildWithFewerSteps_RunsOutFirst_AndEveryChildCallWasChargedToTheParent()
    {
        var parent = fixture.Parent(Unique("user:deleg-steps-"), maxSteps: 5);
        var child = (await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42, maxSteps: 2))).GetProperty("access_token").GetString()!;

        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child));
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child));
        using var third = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child);
        using var parentCall = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", parent);

        var problem = await ProblemAssert.IsProblemAsync(third, 403, "step_limit_exceeded");
        Assert.StartsWith("This token has used all of its steps", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertAllowedAsync(parentCall);
        Assert.Equal("2", Assert.Single(parentCall.Headers.GetValues("Gateway-Steps-Remaining")));
    }

    [Fact]
    public async Task PostDelegations_AtMaxDepth_IsRefusedTooDeep()
    {
        var atLimit = fixture.Parent(Unique("user:deleg-deep-"), actors: ["agent:c", "agent:b", "agent:a"]);
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", atLimit));

        using var response = await fixture.DelegateAsync(Body(atLimit, "agent:d", Read42));

        await AssertDeniedAsync(response, "too_deep", $"at most {MaxDepth}");
    }

    [Fact]
    public async Task GatewayMintedChain_GrowsToTheDepthLimitAndNoFurther()
    {
        var parent = fixture.Parent(Unique("user:deleg-chain-"));
        var child = (await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42))).GetProperty("access_token").GetString()!;
        var grandchild = (await fixture.DelegateOkAsync(Body(child, "agent:worker", Read42))).GetProperty("access_token").GetString()!;

        using var tooDeep = await fixture.DelegateAsync(Body(grandchild, "agent:auditor", Read42));

        await AssertDeniedAsync(tooDeep, "too_deep", "4 hops deep");
    }

    [Theory]
    [InlineData("agent:planner", "already appears in the parent's delegation chain")]
    [InlineData("agent:executor", "already appears in the parent's delegation chain")]
    public async Task PostDelegations_ToAnAgentAlreadyInTheChain_IsRefusedCycle(string actor, string detail)
    {
        var parent = fixture.Parent(Unique("user:deleg-cycle-"), actors: ["agent:executor", "agent:planner"]);

        using var response = await fixture.DelegateAsync(Body(parent, actor, Read42));

        await AssertDeniedAsync(response, "cycle", detail);
    }

    [Fact]
    public async Task PostDelegations_ForAnotherSub_IsRefusedSubjectChange_AndTheParentsSubIsAccepted()
    {
        var sub = Unique("user:deleg-sub-");
        var parent = fixture.Parent(sub);

        using var other = await fixture.DelegateAsync(Body(parent, "agent:executor", Read42, sub: "user:mallory"));
        var same = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42, sub: sub));

        await AssertDeniedAsync(other, "subject_change", "cannot change 'sub'");
        Assert.Equal(sub, Payload(same.GetProperty("access_token").GetString()!).GetProperty("sub").GetString());
    }

    public static TheoryData<string, string[], string[], string> Widenings => new()
    {
        // Parent: read customer 42 | read notes of customer 42.
        { "another action", ["crm.customers:update"], ["crm:customer/42"], "does not grant 'crm.customers:update'" },
        { "another resource", ["crm.customers:read"], ["crm:customer/43"], "does not grant 'crm:customer/43'" },
        { "a one-segment wildcard resource", ["crm.customers:read"], ["crm:customer/*"], "does not grant 'crm:customer/*'" },
        { "a any-depth wildcard resource", ["crm.customers:read"], ["crm:customer/**"], "does not grant 'crm:customer/**'" },
        { "a wildcard type", ["crm.customers:read"], ["crm:*/42"], "does not grant 'crm:*/42'" },
        { "a wildcard verb", ["crm.customers:*"], ["crm:customer/42"], "does not grant 'crm.customers:*'" },
        { "a wildcard object", ["crm.*:read"], ["crm:customer/42"], "does not grant 'crm.*:read'" },
        { "a deeper wildcard under a one-segment grant", ["crm.notes:read"], ["crm:customer/42/note/**"], "does not grant 'crm:customer/42/note/**'" },
        { "an action and a resource from different entries", ["crm.notes:read"], ["crm:customer/42"], "only in different authorization_details entries" },
        { "a narrower and a wider resource together", ["crm.customers:read"], ["crm:customer/42", "crm:customer/7"], "does not grant 'crm:customer/7'" },
    };

    [Theory]
    [MemberData(nameof(Widenings))]
    public async Task PostDelegations_WideningTheScope_IsRefusedScopeWidening(string what, string[] actions, string[] resources, string detail)
    {
        var parent = fixture.Parent(Unique("user:deleg-wide-"), grants:
        [
            (["crm.customers:read"], ["crm:customer/42"]),
            (["crm.notes:read"], ["crm:customer/42/note/*"]),
        ]);

        using var response = await fixture.DelegateAsync(Body(parent, "agent:executor", [(actions, resources)]));

        Assert.False(string.IsNullOrEmpty(what));
        await AssertDeniedAsync(response, "scope_widening", detail);
    }

    [Fact]
    public async Task PostDelegations_NarrowingWithinEachEntry_IsMinted()
    {
        var parent = fixture.Parent(Unique("user:deleg-narrow-"), grants:
        [
            (["crm.*:read"], ["crm:customer/**"]),
        ]);

        var answer = await fixture.DelegateOkAsync(Body(parent, "agent:executor",
        [
            (["crm.customers:read"], ["crm:customer/42"]),
            (["crm.notes:read"], ["crm:customer/42/note/*"]),
        ]));

        var child = answer.GetProperty("access_token").GetString()!;
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42/notes/7", child));
        await ProblemAssert.IsProblemAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/43/notes/7", child), 403, "insufficient_scope");
    }

    [Fact]
    public async Task PostDelegations_OutlivingTheParentOrMaxTtl_IsRefused()
    {
        var parent = fixture.Parent(Unique("user:deleg-ttl-"), ttl: TimeSpan.FromMinutes(2));

        using var outlives = await fixture.DelegateAsync(Body(parent, "agent:executor", Read42, expiresIn: 300));
        using var overMax = await fixture.DelegateAsync(Body(fixture.Parent(Unique("user:deleg-ttl-"), ttl: TimeSpan.FromMinutes(30)), "agent:executor", Read42, expiresIn: 1200));
        var defaulted = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42));

        await AssertDeniedAsync(outlives, "lifetime_widening", "expire after its parent");
        await AssertDeniedAsync(overMax, "ttl_too_long", "at most 600 seconds");

        // Without expires_in the child lives as long as allowed: never past its parent.
        var child = Payload(defaulted.GetProperty("access_token").GetString()!);
        Assert.True(child.GetProperty("exp").GetInt64() <= Payload(parent).GetProperty("exp").GetInt64());
    }

    [Fact]
    public async Task PostDelegations_MoreStepsThanTheParentHas_IsRefusedStepsWidening()
    {
        var parent = fixture.Parent(Unique("user:deleg-steps-"), maxSteps: 3);
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", parent));

        using var more = await fixture.DelegateAsync(Body(parent, "agent:executor", Read42, maxSteps: 3));
        var exact = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42, maxSteps: 2));

        await AssertDeniedAsync(more, "steps_widening", "max_steps 3 is more than the 2 steps the parent token has left");
        Assert.Equal(2, exact.GetProperty("max_steps").GetInt32());
    }

    [Fact]
    public async Task RevokedParent_CannotDelegate_AndItsExistingChildrenAreCutOff()
    {
        var parent = fixture.Parent(Unique("user:deleg-revoked-"));
        var child = (await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42))).GetProperty("access_token").GetString()!;
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child));

        var rule = (await RevokeAsync(fixture.Gateway, "jti", Jti(parent))).GetProperty("id").GetString();

        using var self = await fixture.DelegateAsync(Body(parent, "agent:worker", Read42));
        using var byAdmin = await fixture.DelegateAsync(Body(parent, "agent:worker", Read42), Credential.AdminKey);
        using var fromChild = await fixture.DelegateAsync(Body(child, "agent:worker", Read42));
        await AssertRevokedAsync(self, rule, "The parent token is revoked");
        await AssertRevokedAsync(byAdmin, rule, "The parent token is revoked");
        await AssertRevokedAsync(fromChild, rule, "A token this one was delegated from has been revoked");
        await AssertRevokedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child), rule);
    }

    [Fact]
    public async Task ParentWhoseAgentIsRevoked_CannotDelegate()
    {
        var agent = Unique("agent:revoked-");
        var parent = fixture.Parent(Unique("user:deleg-revoked-"), actors: [agent]);
        await RevokeAsync(fixture.Gateway, "agent", agent);

        using var response = await fixture.DelegateAsync(Body(parent, "agent:executor", Read42));

        await AssertRevokedAsync(response, detailContains: "The parent token is revoked");
    }

    [Fact]
    public async Task Grandchild_ListsBothAncestorsInCapChain_WorksOnARealRoute_AndChargesBoth()
    {
        var sub = Unique("user:deleg-grand-");
        var parent = fixture.Parent(sub, maxSteps: 10);
        var child = (await fixture.DelegateOkAsync(Body(parent, "agent:executor", [(["crm.customers:read"], ["crm:customer/*"])], maxSteps: 6))).GetProperty("access_token").GetString()!;
        var answer = await fixture.DelegateOkAsync(Body(child, "agent:worker", Read42, maxSteps: 2));
        var grandchild = answer.GetProperty("access_token").GetString()!;

        var claims = Payload(grandchild);
        Assert.Equal([Jti(child), Jti(parent)], claims.GetProperty("cap").GetProperty("chain").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal("""{"sub":"agent:worker","act":{"sub":"agent:executor","act":{"sub":"agent:planner"}}}""", claims.GetProperty("act").GetRawText());
        Assert.Equal(sub, claims.GetProperty("sub").GetString());

        var marker = Unique("g");
        using (var call = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42?m=" + marker, grandchild))
        {
            await AssertAllowedAsync(call);
            Assert.Equal("1", Assert.Single(call.Headers.GetValues("Gateway-Steps-Remaining")));
        }

        Assert.Equal("agent:worker", Assert.Single(fixture.Upstream.Received, r => r.Query.Contains(marker, StringComparison.Ordinal)).Headers["Gateway-Agent"]);
        using (var childCall = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/7", child))
        {
            await AssertAllowedAsync(childCall);
            Assert.Equal("4", Assert.Single(childCall.Headers.GetValues("Gateway-Steps-Remaining")));
        }

        using (var parentCall = await fixture.SendAsync(HttpMethod.Get, "/crm/customers/7", parent))
        {
            await AssertAllowedAsync(parentCall);
            Assert.Equal("7", Assert.Single(parentCall.Headers.GetValues("Gateway-Steps-Remaining")));
        }

        // Revoking the middle token cuts off the grandchild, not the grandparent.
        var rule = (await RevokeAsync(fixture.Gateway, "jti", Jti(child))).GetProperty("id").GetString();
        await AssertRevokedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", grandchild), rule, "delegated from");
        await AssertRevokedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child), rule);
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", parent));
    }

    [Theory]
    [InlineData("""{"actor":"agent:x","authorization_details":[{"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/42"]}]}""", "'subject_token'")]
    [InlineData("""{"subject_token":"PARENT","authorization_details":[{"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/42"]}]}""", "'actor'")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x"}""", "'authorization_details'")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[]}""", "'authorization_details'")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[{"type":"other","actions":["crm.customers:read"],"resources":["crm:customer/42"]}]}""", "agent_capability")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[{"type":"agent_capability","actions":["not an action"],"resources":["crm:customer/42"]}]}""", "is not an action")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[{"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/**/x"]}]}""", "is not a resource")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[{"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/42"]}],"expires_in":0}""", "'expires_in'")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[{"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/42"]}],"max_steps":-1}""", "'max_steps'")]
    [InlineData("""{"subject_token":"PARENT","actor":"agent:x","authorization_details":[{"type":"agent_capability","actions":["crm.customers:read"],"resources":["crm:customer/42"]}],"sub":7}""", "'sub'")]
    [InlineData("""not json""", "not valid JSON")]
    public async Task PostDelegations_MalformedBody_Is400WithASpecificDetail(string template, string detail)
    {
        var parent = fixture.Parent(Unique("user:deleg-bad-"));

        using var response = await fixture.DelegateAsync(template.Replace("PARENT", parent, StringComparison.Ordinal), TestGateway.AdminKey);

        Assert.Contains(detail, await AssertAdminProblemAsync(response, 400, "invalid_request"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostDelegations_FromAnExpiredParent_Is401InvalidTokenWithTheValidatorsReason()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var parent = fixture.Parent(Unique("user:deleg-expired-"), extra: new JsonObject { ["iat"] = now - 900, ["exp"] = now - 300 });

        using var response = await fixture.DelegateAsync(Body(parent, "agent:executor", Read42));

        await AssertAdminProblemAsync(response, 401, "invalid_token");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("expired", problem.GetProperty("reason").GetString());
        Assert.Contains("error=\"invalid_token\"", ProblemAssert.Challenge(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostDelegations_FromADpopBoundParentPresentedAsBearer_IsRefused_ButAnAdminMayDelegateIt()
    {
        var bound = new JsonObject { ["cnf"] = new JsonObject { ["jkt"] = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } };
        var parent = fixture.Parent(Unique("user:deleg-bound-"), extra: bound);

        using var self = await fixture.DelegateAsync(Body(parent, "agent:executor", Read42));
        var byAdmin = await fixture.DelegateOkAsync(Body(parent, "agent:executor", Read42), Credential.AdminKey);

        await AssertAdminProblemAsync(self, 401, "invalid_dpop_proof");
        Assert.StartsWith("DPoP ", ProblemAssert.Challenge(self), StringComparison.Ordinal);
        Assert.False(Payload(byAdmin.GetProperty("access_token").GetString()!).TryGetProperty("cnf", out _));
    }

    private static async Task AssertDeniedAsync(HttpResponseMessage response, string reason, string detailContains)
    {
        var detail = await AssertAdminProblemAsync(response, 403, "delegation_denied");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        Assert.Contains(detailContains, detail, StringComparison.Ordinal);
    }

    private async Task<JsonElement> AuditEventAsync(Func<JsonElement, bool> match)
    {
        var path = Path.Combine(fixture.Gateway.Directory, "audit", "decisions.jsonl");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                var lines = (await reader.ReadToEndAsync()).Split('\n').SkipLast(1);
                foreach (var line in lines)
                {
                    var element = JsonDocument.Parse(line).RootElement;
                    if (match(element))
                    {
                        return element.Clone();
                    }
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail("No matching audit event.");
        return default;
    }
}
