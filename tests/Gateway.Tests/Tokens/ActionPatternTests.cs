using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class ActionPatternTests
{
    [Theory]
    [InlineData("crm.customers:read", "crm.customers:read", true)]
    [InlineData("crm.customers:read", "crm.customers:delete", false)]
    [InlineData("crm.customers:read", "crm.invoices:read", false)]
    [InlineData("crm.customers:read", "CRM.customers:read", false)]
    [InlineData("crm.*:read", "crm.customers:read", true)]
    [InlineData("crm.*:read", "crm.invoices:read", true)]
    [InlineData("crm.*:read", "crm.customers:delete", false)]
    [InlineData("crm.*:read", "mail.messages:read", false)]
    [InlineData("crm.customers:*", "crm.customers:delete", true)]
    [InlineData("crm.customers:*", "crm.invoices:delete", false)]
    [InlineData("*.*:*", "mail.messages:send", true)]
    [InlineData("crm.customers.notes:read", "crm.customers.notes:read", true)]
    [InlineData("crm.*:read", "crm.customers.notes:read", true)]
    public void Matches_ConcreteAction_AsExpected(string pattern, string action, bool expected)
    {
        Assert.True(ActionPattern.TryParse(pattern, out var parsed));

        Assert.Equal(expected, parsed.Matches(action));
    }

    [Theory]
    [InlineData("crm.*:read")]
    [InlineData("crm.customers:*")]
    [InlineData("crm.customers")]
    [InlineData("crm:read")]
    [InlineData("")]
    public void Matches_ActionThatIsNotConcrete_False(string action)
    {
        Assert.True(ActionPattern.TryParse("*.*:*", out var pattern));

        Assert.False(pattern.Matches(action));
    }

    [Theory]
    [InlineData("")]
    [InlineData("crm")]
    [InlineData("crm.customers")]
    [InlineData("crm:read")]
    [InlineData(".customers:read")]
    [InlineData("crm.:read")]
    [InlineData("crm.customers:")]
    [InlineData("crm.customers:read:all")]
    [InlineData("crm.cust*:read")]
    [InlineData("crm.customers:re ad")]
    [InlineData("crm.customers.:read")]
    [InlineData("crm/customers:read")]
    public void TryParse_Malformed_False(string text)
    {
        Assert.False(ActionPattern.TryParse(text, out _));
    }

    [Theory]
    [InlineData("*.*:*", "crm.customers:read", true)]
    [InlineData("crm.*:read", "crm.customers:read", true)]
    [InlineData("crm.*:read", "crm.*:read", true)]
    [InlineData("crm.customers:read", "crm.*:read", false)]
    [InlineData("crm.customers:*", "crm.customers:read", true)]
    [InlineData("crm.customers:*", "crm.*:read", false)]
    [InlineData("crm.*:read", "crm.customers:*", false)]
    [InlineData("crm.customers:read", "crm.customers:read", true)]
    [InlineData("crm.customers:read", "crm.customers:write", false)]
    public void Covers_OtherPattern_TrueOnlyWhenItGrantsNoMore(string mine, string theirs, bool expected)
    {
        Assert.True(ActionPattern.TryParse(mine, out var a));
        Assert.True(ActionPattern.TryParse(theirs, out var b));

        Assert.Equal(expected, a.Covers(b));
    }
}
