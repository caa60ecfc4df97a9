using Gateway.Dpop;

namespace Gateway.Tests.Dpop;

public sealed class DpopUriTests
{
    [Theory]
    [InlineData("https://gw.test/a/b", "https://gw.test/a/b")]
    [InlineData("HTTPS://GW.TEST/a/B", "https://gw.test/a/B")]
    [InlineData("https://gw.test:443/a", "https://gw.test/a")]
    [InlineData("http://gw.test:80/a", "http://gw.test/a")]
    [InlineData("http://gw.test:8080/a", "http://gw.test:8080/a")]
    [InlineData("https://gw.test:0443/a", "https://gw.test/a")]
    [InlineData("https://gw.test:/a", "https://gw.test/a")]
    [InlineData("https://gw.test", "https://gw.test/")]
    [InlineData("https://gw.test?x=1", "https://gw.test/")]
    [InlineData("https://gw.test/a?x=1#f", "https://gw.test/a")]
    [InlineData("https://gw.test/%7euser/%2f", "https://gw.test/~user/%2F")]
    [InlineData("https://gw.test/zo%c3%ab", "https://gw.test/zo%C3%AB")]
    [InlineData("https://gw.test/zoë", "https://gw.test/zo%C3%AB")]
    [InlineData("https://[::1]:8443/a", "https://[::1]:8443/a")]
    public void Normalize_EquivalentForms_AreEqual(string uri, string expected)
    {
        Assert.Equal(expected, DpopUri.Normalize(uri));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/a/b")]
    [InlineData("ftp://gw.test/a")]
    [InlineData("https:///a")]
    [InlineData("https://user@gw.test/a")]
    [InlineData("https://gw.test:99999/a")]
    [InlineData("https://gw.test:8x/a")]
    [InlineData("https://gw.test/%zz")]
    [InlineData("https://gw.tëst/a")]
    [InlineData("https://[zz]/a")]
    public void Normalize_NotAnAbsoluteHttpUri_IsNull(string uri)
    {
        Assert.Null(DpopUri.Normalize(uri));
    }
}
