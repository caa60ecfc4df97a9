using Gateway.Policy;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Policy;

public sealed class ResourceTemplateTests
{
    private static HttpRequest Request(string? query = null, (string, string)[]? headers = null, (string, string)[]? routeValues = null)
    {
        var context = new DefaultHttpContext();
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }

        foreach (var (name, value) in headers ?? [])
        {
            context.Request.Headers.Append(name, value);
        }

        foreach (var (name, value) in routeValues ?? [])
        {
            context.Request.RouteValues[name] = value;
        }

        return context.Request;
    }

    [Fact]
    public void TryExpand_RouteQueryAndHeader_BuildsTheResource()
    {
        Assert.True(ResourceTemplate.TryParse("crm:region/{query.region}/customer/{customerId}/by/{header.X-Team}", out var template, out _));

        var ok = template.TryExpand(Request("?region=emea", [("X-Team", "blue")], [("customerId", "42")]), out var resource, out var problem);

        Assert.True(ok, problem);
        Assert.Equal("crm:region/emea/customer/42/by/blue", resource);
    }

    [Fact]
    public void TryExpand_LiteralOnly_ReturnsItself()
    {
        Assert.True(ResourceTemplate.TryParse("crm:settings", out var template, out _));

        Assert.True(template.TryExpand(Request(), out var resource, out _));
        Assert.Equal("crm:settings", resource);
    }

    [Theory]
    [InlineData("?other=1")]
    [InlineData("?region=")]
    [InlineData("?region=a&region=b")]
    [InlineData("?region=a%2Fb")]
    [InlineData("?region=..")]
    [InlineData("?region=*")]
    [InlineData("?region=a%0Ab")]
    public void TryExpand_MissingAmbiguousOrUnsafeValue_Fails(string query)
    {
        Assert.True(ResourceTemplate.TryParse("crm:region/{query.region}", out var template, out _));

        Assert.False(template.TryExpand(Request(query), out _, out var problem));
        Assert.Contains("query.region", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("crm:customer/{")]
    [InlineData("crm:customer/}")]
    [InlineData("crm:customer/{}")]
    [InlineData("crm:customer/{query.}")]
    [InlineData("crm:customer/{a b}")]
    public void TryParse_Malformed_ReturnsError(string text)
    {
        Assert.False(ResourceTemplate.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
