using Gateway.Budgets;
using Gateway.Delegation;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tests.Tokens;
using Gateway.Tokens;

namespace Gateway.Tests.Delegation;

public sealed class DelegationServiceTests
{
    private const string DelegationIssuer = "https://gateway.test/delegation";
    private const string Evidence = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    private const string Jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    private readonly TestIssuer _idp = new();
    private readonly TestIssuer _delegation = new(DelegationIssuer, JwsAlgorithms.EdDsa, "gateway-delegation");
    private readonly TestGateway _gateway;
    private readonly InMemoryBudgetStore _budgets;
    private readonly RevocationIndex _revocations;

    public DelegationServiceTests()
    {
        _gateway = new TestGateway(_idp, _delegation);
        _budgets = new InMemoryBudgetStore(timeProvider: _gateway.Time);
        _revocations = new RevocationIndex(_gateway.Time);
    }

    private DateTimeOffset Now => _gateway.Now;

    [Fact]
    public async Task DelegateAsync_NarrowerChild_ValidatesWithTheParentsUserAndExtendedActAndChain()
    {
        var parent = await ParentAsync(p => p with { Intent = IntentMethod.Explicit, IntentEvidence = Evidence, ClientId = "runtime-7" });

        var result = await Service().DelegateAsync(parent, Request(ttl: TimeSpan.FromMinutes(5), maxSteps: 4), CancellationToken.None);

        var child = await AssertMintedAsync(result);
        Assert.Equal(DelegationIssuer, child.Issuer);
        Assert.Equal("user:alice", child.Subject);
        Assert.Equal("agent:mailer", child.Agent);
        Assert.Equal(["agent:mailer", "agent:planner"], child.Actors);
        Assert.Equal(["jti-parent"], child.Chain);
        Assert.Equal(2, child.DelegationDepth);
        Assert.Equal(Now, child.IssuedAt);
        Assert.Equal(Now.AddMinutes(5), child.Expires);
        Assert.Equal(4, child.MaxSteps);
        Assert.Equal(IntentMethod.Explicit, child.Intent);
        Assert.Equal(Evidence, child.IntentEvidence);
        Assert.Equal("runtime-7", child.ClientId);
        Assert.Equal(result.Jti, child.Jti);
        Assert.Equal(child.Expires, result.Expires);
        Assert.True(ScopeEvaluator.IsInScope(child, "crm.customers:read", "crm:customer/42"));
        Assert.False(ScopeEvaluator.IsInScope(child, "crm.customers:read", "crm:customer/43"));
        Assert.False(ScopeEvaluator.IsInScope(child, "crm.invoices:list", "crm:customer/42"));
    }

    [Fact]
    public async Task DelegateAsync_Grandchild_ChainListsBothAncestorsNearestFirst()
    {
        var parent = await ParentAsync();
        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        var grandchild = await AssertMintedAsync(await Service().DelegateAsync(child, Request(agent: "agent:archiver"), CancellationToken.None));

        Assert.Equal([child.Jti, "jti-parent"], grandchild.Chain);
        Assert.Equal(["agent:archiver", "agent:mailer", "agent:planner"], grandchild.Actors);
        Assert.Equal("user:alice", grandchild.Subject);
        Assert.Equal(3, grandchild.DelegationDepth);
    }

    [Fact]
    public async Task DelegateAsync_NoTtlOrSteps_GetsAsMuchAsThePolicyAndTheParentAllow()
    {
        var parent = await ParentAsync(p => p with { Ttl = TimeSpan.FromMinutes(30), MaxSteps = 10 });
        await ChargeAsync(parent, times: 3);

        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        Assert.Equal(Now.AddMinutes(15), child.Expires);
        Assert.Equal(7, child.MaxSteps);
    }

    [Fact]
    public async Task DelegateAsync_NoTtlAndParentEndsSoonerThanMaxTtl_EndsExactlyWithTheParent()
    {
        // Half a second into a second: iat is whole seconds, and the child must still not outlive its parent.
        var parent = await ParentAsync(p => p with { Ttl = TimeSpan.FromMinutes(10) });
        _gateway.Time.Advance(TimeSpan.FromMinutes(4) + TimeSpan.FromMilliseconds(500));

        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        Assert.Equal(parent.Expires, child.Expires);
    }

    [Fact]
    public async Task DelegateAsync_ParentWithoutMaxSteps_RemainingIsTheBudgetDefault()
    {
        var parent = await ParentAsync(p => p with { MaxSteps = null });

        var result = await Service().DelegateAsync(parent, Request(), CancellationToken.None);

        Assert.Equal(new BudgetSettings().DefaultSteps, result.MaxSteps);
    }

    public static TheoryData<string, string, string> Widenings => new()
    {
        // name, requested action, requested resource
        { "another verb", "crm.customers:delete", "crm:customer/42" },
        { "another object", "crm.payments:read", "crm:customer/42" },
        { "wildcard object", "crm.*:read", "crm:customer/42" },
        { "wildcard verb", "crm.customers:*", "crm:customer/42" },
        { "wildcard service", "*.customers:read", "crm:customer/42" },
        { "another resource type", "crm.customers:read", "crm:invoice/42" },
        { "another service", "crm.customers:read", "erp:customer/42" },
        { "wildcard segment over the type", "crm.customers:read", "crm:*/42" },
        { "open-ended above the grant", "crm.customers:read", "crm:*/**" },
        { "wildcard service in the resource", "crm.customers:read", "*:customer/42" },
    };

    [Theory]
    [MemberData(nameof(Widenings))]
    public async Task DelegateAsync_WiderScope_RefusedAsScopeWidening(string name, string action, string resource)
    {
        var parent = await ParentAsync(p => p with { Actions = ["crm.customers:read", "crm.invoices:list"], Resources = ["crm:customer/**"] });

        var result = await Service().DelegateAsync(parent, Request(action: action, resource: resource), CancellationToken.None);

        AssertRefused(result, DelegationErrors.ScopeWidening);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public async Task DelegateAsync_PairGrantedOnlyAcrossTwoParentEntries_Refused()
    {
        // The parent may read customers and list invoices, but never read invoices.
        var parent = await ParentAsync(p => p with
        {
            Actions = ["crm.customers:read"],
            Resources = ["crm:customer/**"],
            AdditionalGrants = [new MintGrant(["crm.invoices:list"], ["crm:invoice/**"])],
        });
        var combined = new DelegationRequest
        {
            Agent = "agent:mailer",
            Grants = [new DelegationGrant(["crm.customers:read", "crm.invoices:list"], ["crm:customer/42", "crm:invoice/7"])],
        };
        var separate = combined with
        {
            Grants = [new DelegationGrant(["crm.customers:read"], ["crm:customer/42"]), new DelegationGrant(["crm.invoices:list"], ["crm:invoice/7"])],
        };

        var refused = await Service().DelegateAsync(parent, combined, CancellationToken.None);
        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, separate, CancellationToken.None));

        AssertRefused(refused, DelegationErrors.ScopeWidening, "only in different authorization_details entries");
        Assert.Equal(2, child.Grants.Count);
        Assert.True(ScopeEvaluator.IsInScope(child, "crm.invoices:list", "crm:invoice/7"));
        Assert.False(ScopeEvaluator.IsInScope(child, "crm.customers:read", "crm:invoice/7"));
    }

    [Theory]
    [InlineData("crm.*:read", "crm:customer/*")]
    [InlineData("crm.customers:read", "crm:customer/42/notes/**")]
    [InlineData("crm.customers:read", "crm:customer/**")]
    public async Task DelegateAsync_PatternsWithinTheParentsWildcards_Minted(string action, string resource)
    {
        var parent = await ParentAsync(p => p with { Actions = ["crm.*:read"], Resources = ["crm:customer/**"] });

        await AssertMintedAsync(await Service().DelegateAsync(parent, Request(action: action, resource: resource), CancellationToken.None));
    }

    [Fact]
    public async Task DelegateAsync_OutlivesTheParent_RefusedAsLifetimeWidening()
    {
        var parent = await ParentAsync(p => p with { Ttl = TimeSpan.FromMinutes(30) });
        var service = Service(maxTtl: TimeSpan.FromHours(1));

        var refused = await service.DelegateAsync(parent, Request(ttl: TimeSpan.FromMinutes(30) + TimeSpan.FromSeconds(1)), CancellationToken.None);
        var exact = await service.DelegateAsync(parent, Request(ttl: TimeSpan.FromMinutes(30)), CancellationToken.None);

        AssertRefused(refused, DelegationErrors.LifetimeWidening, "1800 seconds left");
        Assert.True(exact.Succeeded);
    }

    [Fact]
    public async Task DelegateAsync_LongerThanMaxTtl_RefusedAsTtlTooLong()
    {
        var parent = await ParentAsync(p => p with { Ttl = TimeSpan.FromMinutes(30) });

        var result = await Service(maxTtl: TimeSpan.FromMinutes(5)).DelegateAsync(parent, Request(ttl: TimeSpan.FromMinutes(6)), CancellationToken.None);

        AssertRefused(result, DelegationErrors.TtlTooLong, "at most 300 seconds");
    }

    [Fact]
    public async Task DelegateAsync_ParentExpired_Refused()
    {
        var parent = await ParentAsync(p => p with { Ttl = TimeSpan.FromMinutes(10) });
        _gateway.Time.Advance(TimeSpan.FromMinutes(10));

        AssertRefused(await Service().DelegateAsync(parent, Request(), CancellationToken.None), DelegationErrors.ParentExpired, "expired");
    }

    [Fact]
    public async Task DelegateAsync_MoreStepsThanTheParentHas_RefusedAsStepsWidening()
    {
        var parent = await ParentAsync(p => p with { MaxSteps = 10 });

        AssertRefused(await Service().DelegateAsync(parent, Request(maxSteps: 11), CancellationToken.None), DelegationErrors.StepsWidening, "10 steps");
        Assert.True((await Service().DelegateAsync(parent, Request(maxSteps: 10), CancellationToken.None)).Succeeded);
    }

    [Fact]
    public async Task DelegateAsync_MoreStepsThanTheParentHasLeft_RefusedAsStepsWidening()
    {
        var parent = await ParentAsync(p => p with { MaxSteps = 10 });
        await ChargeAsync(parent, times: 8);

        AssertRefused(await Service().DelegateAsync(parent, Request(maxSteps: 3), CancellationToken.None), DelegationErrors.StepsWidening, "the 2 steps the parent");
        Assert.Equal(2, (await Service().DelegateAsync(parent, Request(maxSteps: 2), CancellationToken.None)).MaxSteps);
    }

    [Fact]
    public async Task DelegateAsync_AncestorHasFewerStepsLeftThanTheParent_CappedByTheAncestor()
    {
        var root = await ParentAsync(p => p with { MaxSteps = 5 });
        var child = await AssertMintedAsync(await Service().DelegateAsync(root, Request(maxSteps: 5), CancellationToken.None));
        await ChargeAsync(root, times: 4);

        AssertRefused(await Service().DelegateAsync(child, Request(agent: "agent:archiver", maxSteps: 2), CancellationToken.None), DelegationErrors.StepsWidening, "the 1 step the parent");
    }

    [Fact]
    public async Task DelegateAsync_ParentOutOfSteps_RefusedAsStepsWidening()
    {
        var parent = await ParentAsync(p => p with { MaxSteps = 2 });
        await ChargeAsync(parent, times: 2);

        AssertRefused(await Service().DelegateAsync(parent, Request(), CancellationToken.None), DelegationErrors.StepsWidening, "no steps left");
    }

    [Fact]
    public async Task DelegateAsync_DeeperThanThePolicyAllows_RefusedAsTooDeep()
    {
        var parent = await ParentAsync();
        var service = Service(maxDepth: 2);
        var child = await AssertMintedAsync(await service.DelegateAsync(parent, Request(), CancellationToken.None));

        var result = await service.DelegateAsync(child, Request(agent: "agent:archiver"), CancellationToken.None);

        AssertRefused(result, DelegationErrors.TooDeep, "3 hops");
    }

    [Theory]
    [InlineData("agent:planner")]
    [InlineData("agent:mailer")]
    public async Task DelegateAsync_AgentAlreadyInTheChain_RefusedAsCycle(string agent)
    {
        var parent = await ParentAsync();
        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        AssertRefused(await Service().DelegateAsync(child, Request(agent: agent), CancellationToken.None), DelegationErrors.Cycle, "already appears");
    }

    [Fact]
    public async Task DelegateAsync_ToTheCallingAgentItself_RefusedAsCycle()
    {
        var parent = await ParentAsync();

        AssertRefused(await Service().DelegateAsync(parent, Request(agent: "agent:planner"), CancellationToken.None), DelegationErrors.Cycle, "already appears");
    }

    [Fact]
    public async Task DelegateAsync_AnotherSubject_RefusedAsSubjectChange()
    {
        var parent = await ParentAsync();

        var result = await Service().DelegateAsync(parent, Request() with { Subject = "user:mallory" }, CancellationToken.None);

        AssertRefused(result, DelegationErrors.SubjectChange, "same user");
        Assert.DoesNotContain("mallory", result.Detail, StringComparison.Ordinal);
        Assert.True((await Service().DelegateAsync(parent, Request() with { Subject = "user:alice" }, CancellationToken.None)).Succeeded);
    }

    [Fact]
    public async Task DelegateAsync_RevokedParent_Refused()
    {
        var parent = await ParentAsync();
        _revocations.Add(new RevocationRule
        {
            Id = "rev_1",
            Kind = RevocationKind.Jti,
            Value = parent.Jti,
            Reason = "test",
            CreatedAt = Now,
            ExpiresAt = Now.AddHours(2),
        });

        AssertRefused(await Service().DelegateAsync(parent, Request(), CancellationToken.None), DelegationErrors.Revoked, "rev_1");
    }

    public static TheoryData<DelegationRequest> MalformedRequests => new()
    {
        Request(agent: ""),
        Request(agent: "agent:\nmailer"),
        Request() with { Grants = [] },
        Request() with { Grants = [new DelegationGrant([], ["crm:customer/42"])] },
        Request() with { Grants = [new DelegationGrant(["crm.customers:read"], [])] },
        Request(action: "crm.customers"),
        Request(resource: "crm:customer/../42"),
        Request(resource: "crm:**"),
        Request(ttl: TimeSpan.FromMilliseconds(999)),
        Request(maxSteps: 0),
        Request() with { ConfirmationJkt = "not-a-thumbprint" },
        Request() with { Grants = [.. Enumerable.Repeat(new DelegationGrant(["crm.customers:read"], ["crm:customer/42"]), DelegationRequest.MaxEntries + 1)] },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task DelegateAsync_MalformedRequest_RefusedAsInvalidRequest(DelegationRequest request)
    {
        var parent = await ParentAsync();

        var result = await Service().DelegateAsync(parent, request, CancellationToken.None);

        Assert.Equal(DelegationErrors.InvalidRequest, result.Error);
        Assert.False(string.IsNullOrWhiteSpace(result.Detail));
    }

    [Fact]
    public async Task DelegateAsync_ParentAtPolicyIntent_ChildCarriesNoIntentClaim()
    {
        var parent = await ParentAsync();

        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        Assert.Equal(IntentMethod.Policy, child.Intent);
        Assert.Null(child.IntentEvidence);
    }

    [Fact]
    public async Task DelegateAsync_ParentWithAcrAndAuthTime_ChildKeepsBothUnchanged()
    {
        var authTime = Now.AddMinutes(-3);
        var parent = await ParentAsync(p => p with { Acr = "urn:example:mfa", AuthTime = authTime });
        _gateway.Time.Advance(TimeSpan.FromMinutes(1));

        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        Assert.Equal("urn:example:mfa", child.Acr);
        Assert.Equal(authTime, child.AuthTime);
    }

    [Fact]
    public async Task DelegateAsync_ParentWithAcrButNoAuthTime_ChildGetsNeitherRatherThanAFreshAuthTime()
    {
        var parent = await ParentAsync(claims: c => c["acr"] = "urn:example:mfa");

        var child = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));

        Assert.Null(child.Acr);
        Assert.Null(child.AuthTime);
    }

    [Fact]
    public async Task DelegateAsync_SenderConstrainedParent_BindingNotCopiedButTheChildMayBringItsOwn()
    {
        var parent = await ParentAsync(p => p with { ConfirmationJkt = Jkt });

        var unbound = await AssertMintedAsync(await Service().DelegateAsync(parent, Request(), CancellationToken.None));
        var bound = await AssertMintedAsync(await Service().DelegateAsync(parent, Request() with { ConfirmationJkt = Jkt }, CancellationToken.None));

        Assert.Null(unbound.ConfirmationJkt);
        Assert.Equal(Jkt, bound.ConfirmationJkt);
    }

    [Fact]
    public async Task DelegateAsync_BudgetStoreDown_Throws()
    {
        var parent = await ParentAsync();
        var service = new DelegationService(Policy(), _delegation.Key, new UnavailableBudgetStore(), timeProvider: _gateway.Time);

        await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => service.DelegateAsync(parent, Request(), CancellationToken.None));
    }

    [Fact]
    public void Constructor_PolicyWithoutDelegation_Throws()
    {
        Assert.Throws<ArgumentException>(() => new DelegationService(Policy() with { Delegation = null }, _delegation.Key, _budgets));
    }

    private DelegationService Service(TimeSpan? maxTtl = null, int maxDepth = 3)
    {
        var policy = Policy();
        policy = policy with
        {
            Gateway = policy.Gateway with { MaxDelegationDepth = maxDepth },
            Delegation = policy.Delegation! with { MaxTtl = maxTtl ?? TimeSpan.FromMinutes(15) },
        };
        return new DelegationService(policy, _delegation.Key, _budgets, _revocations, _gateway.Time);
    }

    private GatewayPolicy Policy() => _gateway.Policy with
    {
        Delegation = new DelegationSettings { Issuer = DelegationIssuer, SigningKeyFile = "/unused/delegation.jwk" },
    };

    private static DelegationRequest Request(
        string agent = "agent:mailer",
        string action = "crm.customers:read",
        string resource = "crm:customer/42",
        TimeSpan? ttl = null,
        int? maxSteps = null) => new()
        {
            Agent = agent,
            Grants = [new DelegationGrant([action], [resource])],
            Ttl = ttl,
            MaxSteps = maxSteps,
        };

    /// <summary>A validated parent token from the identity provider, for agent:planner, 30 minutes, 10 steps.</summary>
    private async Task<CapabilityToken> ParentAsync(Func<MintRequest, MintRequest>? edit = null, Action<System.Text.Json.Nodes.JsonObject>? claims = null)
    {
        if (claims is not null)
        {
            return await _gateway.AssertValidAsync(_idp.Mint(Now, claims: c =>
            {
                c["jti"] = "jti-parent";
                c["act"] = new System.Text.Json.Nodes.JsonObject { ["sub"] = "agent:planner" };
                claims(c);
            }));
        }

        var request = new MintRequest
        {
            Issuer = _idp.Issuer,
            Audience = TestIssuer.Audience,
            Subject = "user:alice",
            Agent = "agent:planner",
            Actions = ["crm.customers:read", "crm.invoices:list"],
            Resources = ["crm:customer/**"],
            Ttl = TimeSpan.FromMinutes(30),
            MaxSteps = 10,
            Jti = "jti-parent",
        };
        return await _gateway.AssertValidAsync(new TokenMinter(_idp.Key, _gateway.Time).Mint(edit?.Invoke(request) ?? request));
    }

    private async Task<CapabilityToken> AssertMintedAsync(DelegationResult result)
    {
        Assert.True(result.Succeeded, $"{result.Error}: {result.Detail}");
        return await _gateway.AssertValidAsync(result.Token);
    }

    private static void AssertRefused(DelegationResult result, string error, string? detailFragment = null)
    {
        Assert.False(result.Succeeded, "the child was minted");
        Assert.Null(result.Token);
        Assert.Equal(error, result.Error);
        Assert.Contains(detailFragment ?? "", result.Detail, StringComparison.Ordinal);
    }

    private async Task ChargeAsync(CapabilityToken token, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var result = await _budgets.ChargeAsync(new BudgetCharge
            {
                Subject = token.Subject,
                Agent = token.Agent,
                Jti = token.Jti,
                MaxSteps = token.MaxSteps ?? 50,
                TokenExpires = token.Expires,
                Ancestors = token.Chain,
                Risk = 0,
                RiskLimit = 100,
                RiskWindow = TimeSpan.FromHours(1),
                DefaultSteps = 50,
            }, CancellationToken.None);
            Assert.True(result.IsAllowed);
        }
    }

    private sealed class UnavailableBudgetStore : IBudgetStore
    {
        public ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken) => throw new BudgetStoreUnavailableException();

        public ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken) => throw new BudgetStoreUnavailableException();

        public ValueTask<bool> PingAsync(CancellationToken cancellationToken) => ValueTask.FromResult(false);
    }
}
