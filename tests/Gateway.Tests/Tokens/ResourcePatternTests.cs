using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class ResourcePatternTests
{
    [Theory]
    [InlineData("crm:customer/42", "crm:customer/42", true)]
    [InlineData("crm:customer/42", "crm:customer/420", false)]
    [InlineData("crm:customer/42", "crm:customer/4", false)]
    [InlineData("crm:customer/abc", "crm:customer/ABC", false)]
    [InlineData("crm:customer/42", "crm:customer/42/notes", false)]
    [InlineData("crm:customer/42", "crm:customer", false)]
    [InlineData("crm:customer/42", "mail:customer/42", false)]
    [InlineData("crm:customer/*", "crm:customer/42", true)]
    [InlineData("crm:customer/*", "crm:customer/42/notes", false)]
    [InlineData("crm:customer/*", "crm:customer", false)]
    [InlineData("crm:customer/*/notes", "crm:customer/42/notes", true)]
    [InlineData("crm:customer/*/notes", "crm:customer/42/orders", false)]
    [InlineData("crm:*/42", "crm:invoice/42", true)]
    [InlineData("*:customer/42", "mail:customer/42", true)]
    [InlineData("crm:customer/**", "crm:customer/42", true)]
    [InlineData("crm:customer/**", "crm:customer/42/notes/7", true)]
    [InlineData("crm:customer/**", "crm:customer", true)]
    [InlineData("crm:customer/**", "crm:invoice/42", false)]
    [InlineData("crm:customer/42/**", "crm:customer/43/notes", false)]
    public void Matches_ConcreteResource_AsExpected(string pattern, string resource, bool expected)
    {
        Assert.True(ResourcePattern.TryParse(pattern, out var parsed));

        Assert.Equal(expected, parsed.Matches(resource));
    }

    [Theory]
    [InlineData("crm:customer/*")]
    [InlineData("crm:customer//42")]
    [InlineData("crm:customer/42/")]
    [InlineData("crm:customer/../admin")]
    [InlineData("crm:customer/./42")]
    [InlineData("crm:customer/4 2")]
    [InlineData("crm:")]
    [InlineData(":customer/42")]
    [InlineData("customer/42")]
    public void Matches_ResourceThatIsNotConcreteOrWellFormed_False(string resource)
    {
        Assert.True(ResourcePattern.TryParse("*:**", out _) is false);
        Assert.True(ResourcePattern.TryParse("*:*/**", out var pattern));

        Assert.False(pattern.Matches(resource));
    }

    [Theory]
    [InlineData("")]
    [InlineData("crm")]
    [InlineData("crm:")]
    [InlineData(":customer/42")]
    [InlineData("crm:**")]
    [InlineData("crm:customer/**/notes")]
    [InlineData("crm:customer/4*")]
    [InlineData("crm:customer//42")]
    [InlineData("crm:customer/")]
    [InlineData("crm:customer/..")]
    [InlineData("crm:customer/a:b")]
    [InlineData("crm:customer/a b")]
    [InlineData("c*m:customer/42")]
    public void TryParse_Malformed_False(string text)
    {
        Assert.False(ResourcePattern.TryParse(text, out _));
    }

    [Theory]
    [InlineData("crm:customer/**", "crm:customer/42", true)]
    [InlineData("crm:customer/**", "crm:customer/*/notes", true)]
    [InlineData("crm:customer/**", "crm:customer/42/**", true)]
    [InlineData("crm:customer/*", "crm:customer/42", true)]
    [InlineData("crm:customer/*", "crm:customer/*", true)]
    [InlineData("crm:customer/42", "crm:customer/*", false)]
    [InlineData("crm:customer/*", "crm:customer/**", false)]
    [InlineData("crm:customer/*", "crm:customer/42/notes", false)]
    [InlineData("crm:customer/42/**", "crm:customer/**", false)]
    [InlineData("*:customer/42", "crm:customer/42", true)]
    [InlineData("crm:customer/42", "*:customer/42", false)]
    [InlineData("crm:customer/42", "mail:customer/42", false)]
    public void Covers_OtherPattern_TrueOnlyWhenItGrantsNoMore(string mine, string theirs, bool expected)
    {
        Assert.True(ResourcePattern.TryParse(mine, out var a));
        Assert.True(ResourcePattern.TryParse(theirs, out var b));

        Assert.Equal(expected, a.Covers(b));
    }
}
