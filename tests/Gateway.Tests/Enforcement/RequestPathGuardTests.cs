using Gateway.Enforcement;

namespace Gateway.Tests.Enforcement;

public sealed class RequestPathGuardTests
{
    [Theory]
    [InlineData("/crm/customers/42")]
    [InlineData("/crm/customers/zo%C3%AB")]
    [InlineData("/crm/customers/a%20b")]
    [InlineData("/")]
    [InlineData("/crm/customers/42.json")]
    [InlineData("/crm/customers/...")]
    [InlineData("/crm/customers/a;v=1")]
    [InlineData("/crm/customers/...;x")]
    public void CheckPath_SafePath_ReturnsNull(string path) => Assert.Null(RequestPathGuard.CheckPath(path));

    [Theory]
    [InlineData("/crm//customers", "empty segment")]
    [InlineData("/crm/customers/../43", "dot segment")]
    [InlineData("/crm/./customers", "dot segment")]
    [InlineData("/crm/customers/..", "dot segment")]
    [InlineData("/crm/customers/..;/43", "dot segment")]
    [InlineData("/crm/customers/..;x=1/43", "dot segment")]
    [InlineData("/crm/.;/customers", "dot segment")]
    [InlineData("/crm\\customers", "backslash")]
    [InlineData("/crm/customers/42%2F43", "encoded")]
    [InlineData("/crm/customers/42%2f43", "encoded")]
    [InlineData("/crm/customers/%2E%2E", "encoded")]
    [InlineData("/crm/customers/%2e", "encoded")]
    [InlineData("/crm/customers/%5C", "encoded")]
    [InlineData("/crm/customers/%00", "encoded")]
    [InlineData("/crm/customers/%0A", "encoded")]
    [InlineData("/crm/customers/%7F", "encoded")]
    [InlineData("/crm/customers/%252F", "encoded")]
    [InlineData("/crm/customers/%zz", "malformed")]
    [InlineData("/crm/customers/%4", "malformed")]
    [InlineData("/crm/customers/%", "malformed")]
    public void CheckPath_TrickPath_SaysWhy(string path, string fragment)
    {
        var problem = RequestPathGuard.CheckPath(path);

        Assert.NotNull(problem);
        Assert.Contains(fragment, problem, StringComparison.Ordinal);
    }
}
