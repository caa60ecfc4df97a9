using System.Net;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Enforcement;

/// <summary>
/// A catch-all route (<c>GET /files/{**path}</c>, <c>resource: files:doc/{path}</c>) fills a resource of several
/// segments from the path the upstream receives, and the path-trick defences hold on it as on fixed templates.
/// </summary>
public sealed class CatchAllRouteTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private string Token(string resource, string action = "files.docs:read")
    {
        var claims = fixture.Issuer.Claims(action: action, resource: resource);
        return fixture.Issuer.Mint(claims);
    }

    [Theory]
    [InlineData("files:doc/public/**", "/files/public/ca1/a.txt", true)]
    [InlineData("files:doc/public/**", "/files/public/ca2/deep/er/b.txt", true)]
    [InlineData("files:doc/ca3/**", "/files/ca3", true)]
    [InlineData("files:doc/public/**", "/files/publicity/ca4/x", false)]
    [InlineData("files:doc/public/**", "/files/Public/ca5/x", false)]
    [InlineData("files:doc/*/ca6.txt", "/files/team/ca6.txt", true)]
    [InlineData("files:doc/*/ca7.txt", "/files/team/sub/ca7.txt", false)]
    [InlineData("files:doc/ca8/a.txt", "/files/ca8/a.txt", true)]
    [InlineData("files:doc/ca9/a.txt", "/files/ca9/a.txt/b", false)]
    [InlineData("files:doc/**", "/files/ca10/zo%C3%AB.txt", true)]
    public async Task CatchAll_FillsAMultiSegmentResource_MatchedWithTheContractsWildcards(string grant, string path, bool allowed)
    {
        var response = await fixture.SendAsync(HttpMethod.Get, path, Token(grant));

        // Each case's path is its own, so what the upstream saw of it is this case's doing alone.
        var forwarded = fixture.Upstream.Received.Count(r => r.Path == Uri.UnescapeDataString(path));
        if (allowed)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(1, forwarded);
        }
        else
        {
            var problem = await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
            Assert.Contains("files:doc/", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, forwarded);
        }
    }

    [Fact]
    public async Task CatchAll_ResourceInTheRefusal_IsTheWholePathTail()
    {
        var response = await fixture.SendAsync(HttpMethod.Get, "/files/private/cat-1/report.pdf", Token("files:doc/public/**"));

        var problem = await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
        Assert.Contains("'files:doc/private/cat-1/report.pdf'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/files/42/../43/a")]
    [InlineData("/files/42/./43/a")]
    [InlineData("/files/42/%2e%2e/43/a")]
    [InlineData("/files/42/%2E%2E/43/a")]
    [InlineData("/files/42/%2e/43/a")]
    [InlineData("/files/42%2F..%2F43/a")]
    [InlineData("/files/42%2f43")]
    [InlineData("/files/42//43")]
    [InlineData("/files//43")]
    [InlineData("/files/42/43/")]
    [InlineData("/files/42%5C..%5C43")]
    [InlineData("/files/42\\..\\43")]
    [InlineData("/files/42/..;/43/a")]
    [InlineData("/files/42/.;x/43/a")]
    [InlineData("/files/42/43%00")]
    [InlineData("/files/42/43%09")]
    [InlineData("/files/42%252F43")]
    [InlineData("/files/42/%c0%af43")]
    [InlineData("/files/42/*/43")]
    [InlineData("/files/42/**/43")]
    [InlineData("/Files/43/a")]
    [InlineData("/FILES/43/a")]
    public async Task CatchAll_PathTrick_IsRefused_AndNeverForwarded(string target)
    {
        var before = fixture.Upstream.Received.Count;

        // A grant of everything under files:doc, so only the path defences can stand in the way.
        var response = await RawHttp.GetAsync(fixture.Gateway.Address, target, "Bearer " + Token("files:doc/**"));

        Assert.InRange(response.Status, 400, 404);
        Assert.DoesNotContain(fixture.Upstream.Received.Skip(before), r => r.Path.Contains("43", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CatchAll_WithoutAValue_IsRefusedAsInvalidRequest()
    {
        var response = await fixture.SendAsync(HttpMethod.Get, "/files/", Token("files:doc/**"));

        await ProblemAssert.IsProblemAsync(response, 400, "invalid_request");
    }
}
