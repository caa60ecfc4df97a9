using Gateway.Approvals;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Approvals;

public sealed class ApprovalEndpointsTests
{
    [Theory]
    [InlineData("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true)]
    [InlineData("text/html", true)]
    [InlineData("application/json", false)]
    [InlineData("*/*", false)]
    [InlineData("", false)]
    [InlineData("application/json, text/html;q=0.5", false)]
    [InlineData("text/html;q=0", false)]
    public void WantsHtml_OnlyWhenHtmlIsPreferredOverJson(string accept, bool html)
    {
        var request = new DefaultHttpContext().Request;
        request.Headers.Accept = accept;

        Assert.Equal(html, ApprovalEndpoints.WantsHtml(request));
    }
}
