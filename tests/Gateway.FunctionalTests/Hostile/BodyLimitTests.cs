using System.Text;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Hostile;

/// <summary>
/// Bodies over <c>gateway.max_request_body_bytes</c> get 413 <c>request_too_large</c>, whether their length is declared
/// or they come chunked, and never reach the upstream; the call is refused before its budget is touched.
/// </summary>
public sealed class BodyLimitTests : IAsyncLifetime
{
    private const int Limit = 1024;
    private readonly TestIssuer _issuer = new();
    private UpstreamServer _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        var policy = TestPolicies.Default.Replace("  max_delegation_depth: 3\n", $"  max_delegation_depth: 3\n  max_request_body_bytes: {Limit}\n", StringComparison.Ordinal);
        _gateway = await TestGateway.StartAsync(_issuer, _upstream, policy);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _issuer.Dispose();
    }

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(64 * 1024)]
    public async Task Patch_ContentLengthOverTheLimit_Gets413AndIsNotForwarded(int size)
    {
        var response = await RawHttp.SendAsync(_gateway.Address, Request("big-" + size, $"Content-Length: {size}\r\n", new string('b', size)));

        Assert.Equal(413, response.Status);
        Assert.Contains("\"error\":\"request_too_large\"", response.Body, StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Patch_ChunkedBodyOverTheLimit_Gets413AndIsNotForwarded()
    {
        var chunk = new string('c', 512);
        var body = new StringBuilder();
        for (var i = 0; i < 8; i++)
        {
            body.Append($"{chunk.Length:x}\r\n{chunk}\r\n");
        }

        body.Append("0\r\n\r\n");

        var response = await RawHttp.SendAsync(_gateway.Address, Request("big-chunked", "Transfer-Encoding: chunked\r\n", body.ToString()));

        Assert.Equal(413, response.Status);
        Assert.Contains("\"error\":\"request_too_large\"", response.Body, StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Patch_ChunkedBodyWithinTheLimit_IsForwardedWhole()
    {
        var response = await RawHttp.SendAsync(_gateway.Address, Request("small-chunked", "Transfer-Encoding: chunked\r\n", "200\r\n" + new string('k', 512) + "\r\n0\r\n\r\n"));

        Assert.Equal(200, response.Status);
        Assert.Equal(512, Assert.Single(_upstream.Received).Body.Length);
    }

    [Fact]
    public async Task Patch_BodyWithinTheLimit_IsForwarded()
    {
        var response = await RawHttp.SendAsync(_gateway.Address, Request("small", $"Content-Length: {Limit}\r\n", new string('s', Limit)));

        Assert.Equal(200, response.Status);
        Assert.Equal(Limit, Assert.Single(_upstream.Received).Body.Length);
    }

    private string Request(string id, string framing, string body)
    {
        var token = _issuer.Mint(_issuer.Claims(action: "crm.customers:update", resource: "crm:customer/" + id));
        return $"PATCH /crm/customers/{id} HTTP/1.1\r\nHost: {_gateway.Address.Authority}\r\nAuthorization: Bearer {token}\r\n{framing}Connection: close\r\n\r\n{body}";
    }
}
