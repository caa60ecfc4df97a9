using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class ScopeEvaluatorTests
{
    [Fact]
    public void IsInScope_OneEntryGrantsBoth_True()
    {
        var token = Token(Grant(["crm.customers:read"], ["crm:customer/42"]));

        Assert.True(ScopeEvaluator.IsInScope(token, "crm.customers:read", "crm:customer/42"));
    }

    [Fact]
    public void IsInScope_ActionFromOneEntryResourceFromAnother_False()
    {
        // Read on 42 and delete on 7 must not add up to delete on 42.
        var token = Token(
            Grant(["crm.customers:read"], ["crm:customer/42"]),
            Grant(["crm.customers:delete"], ["crm:customer/7"]));

        Assert.False(ScopeEvaluator.IsInScope(token, "crm.customers:delete", "crm:customer/42"));
        Assert.True(ScopeEvaluator.IsInScope(token, "crm.customers:delete", "crm:customer/7"));
        Assert.True(ScopeEvaluator.IsInScope(token, "crm.customers:read", "crm:customer/42"));
    }

    [Theory]
    [InlineData("crm.customers:read", "crm:customer/42", true)]
    [InlineData("crm.invoices:read", "crm:invoice/9/lines/2", true)]
    [InlineData("crm.customers:delete", "crm:customer/42", false)]
    [InlineData("crm.customers:read", "mail:mailbox/alice", false)]
    [InlineData("crm.customers:read", "CRM:customer/abc", false)]
    [InlineData("CRM.customers:read", "crm:customer/abc", false)]
    [InlineData("crm.customers:read", "crm:customer/abc", true)]
    public void IsInScope_Wildcards_AsExpected(string action, string resource, bool expected)
    {
        var token = Token(Grant(["crm.*:read"], ["crm:customer/*", "crm:invoice/**"]));

        Assert.Equal(expected, ScopeEvaluator.IsInScope(token, action, resource));
    }

    [Fact]
    public void FindGrant_SeveralEntries_ReturnsTheFirstThatGrantsBoth()
    {
        // Indexes as in authorization_details, where entries of other types sit between these.
        var token = Token(
            Grant(["crm.customers:read"], ["crm:customer/7"], index: 1),
            Grant(["crm.customers:delete"], ["crm:customer/42"], index: 3),
            Grant(["crm.*:*"], ["crm:customer/*"], index: 4));

        Assert.Equal(3, ScopeEvaluator.FindGrant(token, "crm.customers:delete", "crm:customer/42")?.Index);
        Assert.Equal(1, ScopeEvaluator.FindGrant(token, "crm.customers:read", "crm:customer/7")?.Index);
        Assert.Equal(4, ScopeEvaluator.FindGrant(token, "crm.customers:read", "crm:customer/42")?.Index);
        Assert.Null(ScopeEvaluator.FindGrant(token, "crm.customers:read", "crm:invoice/1"));
    }

    [Fact]
    public void IsInScope_NoGrants_False()
    {
        Assert.False(ScopeEvaluator.IsInScope(Token(), "crm.customers:read", "crm:customer/42"));
    }

    private static CapabilityGrant Grant(string[] actions, string[] resources, int index = 0) => new()
    {
        Index = index,
        Actions = actions.Select(a => ActionPattern.TryParse(a, out var p) ? p : throw new ArgumentException(a)).ToArray(),
        Resources = resources.Select(r => ResourcePattern.TryParse(r, out var p) ? p : throw new ArgumentException(r)).ToArray(),
    };

    private static CapabilityToken Token(params CapabilityGrant[] grants) => new()
    {
        Jti = "j",
        Issuer = TestIssuer.DefaultIssuer,
        Subject = "user:alice",
        Agent = "agent:a",
        Actors = ["agent:a"],
        IssuedAt = TestGateway.Start,
        Expires = TestGateway.Start.AddMinutes(10),
        Grants = grants,
    };
}
