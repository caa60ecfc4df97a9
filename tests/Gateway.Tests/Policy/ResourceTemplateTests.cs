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

    [Theory]
    [InlineData("crm:customer/{customerId}", "crm:customer/42")]
    [InlineData("crm:customer/{customerId}/profile", "crm:customer/42/profile")]
    [InlineData("{customerId}", "42")]
    [InlineData("crm:customer/v{customerId}x", "crm:customer/v42x")]
    [InlineData("crm:customer/{customerId}/note/{noteId}", "crm:customer/42/note/7")]
    [InlineData("{customerId}{noteId}", "427")]
    public void TryExpand_PlaceholderAnywhere_BuildsTheResource(string text, string expected)
    {
        Assert.True(ResourceTemplate.TryParse(text, out var template, out _));

        var ok = template.TryExpand(Request(routeValues: [("customerId", "42"), ("noteId", "7")]), out var resource, out var problem);

        Assert.True(ok, problem);
        Assert.Equal(expected, resource);
    }

    [Theory]
    [InlineData("crm:customer/{customerId}")]
    [InlineData("crm:customer/{customerId}/note/{noteId}")]
    public void TryExpand_UnsafeRouteValue_FailsNamingThePlaceholder(string text)
    {
        Assert.True(ResourceTemplate.TryParse(text, out var template, out _));

        Assert.False(template.TryExpand(Request(routeValues: [("customerId", ".."), ("noteId", "7")]), out var resource, out var problem));
        Assert.Null(resource);
        Assert.Contains("customerId", problem, StringComparison.Ordinal);
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

    [Theory]
    [InlineData("/files/public/a.txt", "files:doc/public/a.txt")]
    [InlineData("/files/a", "files:doc/a")]
    [InlineData("/files/a/b/c/d", "files:doc/a/b/c/d")]
    public void TryExpand_CatchAll_FillsSegmentsFromThePath(string path, string expected)
    {
        Assert.True(ResourceTemplate.TryParse("files:doc/{path}", new CatchAllParameter("path", 1), out var template, out _));
        var request = Request(routeValues: [("path", "not-what-is-forwarded")]);
        request.Path = new PathString(path);

        var ok = template.TryExpand(request, out var resource, out var problem);

        Assert.True(ok, problem);
        Assert.Equal(expected, resource);
    }

    [Theory]
    [InlineData("/files")]
    [InlineData("/files/")]
    [InlineData("/files/a/")]
    [InlineData("/files/a//b")]
    [InlineData("/files/a/../b")]
    [InlineData("/files/./b")]
    [InlineData("/files/a/*/b")]
    [InlineData("/files/a/**")]
    [InlineData("/files/a\\b")]
    [InlineData("/files/a%2Fb")]
    [InlineData("/files/a/b\u0001")]
    public void TryExpand_CatchAllWithAnUnsafeSegment_Fails(string path)
    {
        Assert.True(ResourceTemplate.TryParse("files:doc/{path}", new CatchAllParameter("path", 1), out var template, out _));
        var request = Request();
        request.Path = new PathString(path);

        Assert.False(template.TryExpand(request, out _, out var problem));
        Assert.Contains("'path'", problem, StringComparison.Ordinal);
    }
}
