using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Telemetry;

namespace Gateway.FunctionalTests.Audit;

/// <summary>One gateway with an audit file and captured logs, shared by <see cref="AuditRequestFieldsTests"/>.</summary>
public sealed class AuditedGatewayFixture : IAsyncLifetime
{
    private readonly AuditFolder _folder = new();

    public TestIssuer Issuer { get; } = new();
    public TelemetryCapture Capture { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;
    public string LiveFile => _folder.LiveFile;

    public async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await TestGateway.StartAsync(Issuer, Upstream, AuditTrail.Policy(_folder.LiveFile), configure: Capture.Configure);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
        _folder.Dispose();
    }
}

/// <summary>
/// What an analyst reads in an audit event about the request itself: the <c>resource</c> a refused call attempted, and
/// <c>request.body_sha256</c> for every call with a body, allowed or refused, taken as the body streams.
/// </summary>
public sealed class AuditRequestFieldsTests(AuditedGatewayFixture fixture) : IClassFixture<AuditedGatewayFixture>
{
    [Theory]
    [InlineData("none")]
    [InlineData("expired")]
    [InlineData("bad-signature")]
    [InlineData("wrong-audience")]
    public async Task Refusal_InvalidTokenOnAMatchedRoute_RecordsTheResourceAttempted(string kind)
    {
        var id = "res-" + kind;
        var claims = fixture.Issuer.Claims(resource: "crm:customer/" + id);
        var token = kind switch
        {
            "none" => null,
            "expired" => fixture.Issuer.Mint(Expired(claims)),
            "bad-signature" => BreakSignature(fixture.Issuer.Mint(claims)),
            _ => fixture.Issuer.Mint(WithAudience(claims, "https://another.example")),
        };

        using var response = await SendAsync(HttpMethod.Get, "/crm/customers/" + id, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var audit = await EventAsync(response);
        Assert.Equal("invalid_token", audit.GetProperty("error").GetString());
        Assert.Equal("crm-get-customer", audit.GetProperty("route").GetString());
        Assert.Equal("crm:customer/" + id, audit.GetProperty("resource").GetString());
    }

    [Fact]
    public async Task Refusal_RevokedToken_RecordsTheResourceAttempted()
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/res-revoked");
        var jti = claims["jti"]!.GetValue<string>();
        var token = fixture.Issuer.Mint(claims);
        using (var revoke = await fixture.Gateway.AdminSendAsync(HttpMethod.Post, "/revocations", new StringContent($$"""{"jti":"{{jti}}","reason":"test"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, revoke.StatusCode);
        }

        // Enforced within a second of the 201 (docs/revocation.md); wait for it rather than race it.
        HttpResponseMessage response;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            response = await SendAsync(HttpMethod.Get, "/crm/customers/res-revoked", token);
            if (response.StatusCode == HttpStatusCode.Unauthorized || DateTime.UtcNow > deadline)
            {
                break;
            }

            response.Dispose();
            await Task.Delay(100);
        }

        using (response)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var audit = await EventAsync(response);
            Assert.Equal("crm:customer/res-revoked", audit.GetProperty("resource").GetString());
        }
    }

    [Fact]
    public async Task Refusal_InvalidTokenOnACatchAllRoute_RecordsTheWholeResource()
    {
        using var response = await SendAsync(HttpMethod.Get, "/files/reports/2026/q1.pdf", token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var audit = await EventAsync(response);
        Assert.Equal("files:doc/reports/2026/q1.pdf", audit.GetProperty("resource").GetString());
    }

    [Fact]
    public async Task Refusal_WithoutAResource_RecordsNull()
    {
        // No route matched, and a route whose resource the request cannot fill (no ?region=): nothing was named.
        using var noRoute = await SendAsync(HttpMethod.Get, "/nowhere/res-1", fixture.Issuer.Mint());
        using var noRegion = await SendAsync(HttpMethod.Get, "/crm/customers", fixture.Issuer.Mint());

        Assert.Equal(HttpStatusCode.NotFound, noRoute.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noRegion.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await EventAsync(noRoute)).GetProperty("resource").ValueKind);
        Assert.Equal(JsonValueKind.Null, (await EventAsync(noRegion)).GetProperty("resource").ValueKind);
    }

    [Fact]
    public async Task Allowed_WithABody_RecordsTheDigestOfWhatTheUpstreamReceived()
    {
        var body = "{\"name\":\"digest-allowed-" + Guid.NewGuid().ToString("N") + "\"}";
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/dig-1"));

        using var response = await SendAsync(HttpMethod.Patch, "/crm/customers/dig-1", token, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/customers/dig-1");
        Assert.Equal(body, Encoding.UTF8.GetString(received.Body));
        Assert.Equal(Sha256(body), BodySha256(await EventAsync(response)));
    }

    [Fact]
    public async Task Allowed_LargeBody_IsHashedAsItStreamsToTheUpstream()
    {
        // The client holds back most of the body until the upstream has received its first bytes: a gateway that
        // buffered the body for its digest before forwarding would never forward, and the call would time out.
        var content = new HeldBackContent(1024 * 1024, 4 * 1024 * 1024, () => fixture.Upstream.BodyBytesReceived);
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/dig-large"));

        using var response = await SendAsync(HttpMethod.Patch, "/crm/customers/dig-large", token, content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(content.UpstreamHadBytesBeforeTheRest, "the upstream received nothing before the whole body was sent");
        var received = Assert.Single(fixture.Upstream.Received, r => r.Path == "/crm/customers/dig-large");
        Assert.Equal(content.Length, received.Body.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(received.Body)), BodySha256(await EventAsync(response)));
        Assert.Equal(content.Sha256, BodySha256(await EventAsync(response)));
    }

    [Theory]
    [InlineData("out-of-scope", 403)]
    [InlineData("no-token", 401)]
    [InlineData("no-route", 404)]
    public async Task Refused_WithABody_RecordsItsDigest(string kind, int status)
    {
        var body = "{\"name\":\"digest-refused-" + kind + "\"}";
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/someone-else"));
        var (path, bearer) = kind switch
        {
            "out-of-scope" => ("/crm/customers/dig-refused", token),
            "no-token" => ("/crm/customers/dig-refused", null),
            _ => ("/nowhere/dig-refused", token),
        };
        var before = fixture.Upstream.Received.Count;

        using var response = await SendAsync(HttpMethod.Patch, path, bearer, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(before, fixture.Upstream.Received.Count);
        Assert.Equal(Sha256(body), BodySha256(await EventAsync(response)));
    }

    [Fact]
    public async Task Refused_ByThePathGuard_WithAChunkedBody_RecordsItsDigest()
    {
        var body = "{\"name\":\"digest-guard\"}";
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/**"));
        var request = $"PATCH /crm/customers/%2e%2e/dig-guard HTTP/1.1\r\nHost: {fixture.Gateway.Address.Authority}\r\nAuthorization: Bearer {token}\r\n"
            + $"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body.Length:x}\r\n{body}\r\n0\r\n\r\n";

        var response = await RawHttp.SendAsync(fixture.Gateway.Address, request);

        Assert.Equal(400, response.Status);
        var decisionId = response.Headers.Split("\r\n").Single(l => l.StartsWith("Gateway-Decision-Id:", StringComparison.OrdinalIgnoreCase))["Gateway-Decision-Id:".Length..].Trim();
        Assert.Equal(Sha256(body), BodySha256(await AuditTrail.WaitForEventAsync(fixture.LiveFile, decisionId)));
    }

    [Fact]
    public async Task Requests_WithoutABody_RecordNoDigest()
    {
        var read = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/dig-none"));
        var update = fixture.Issuer.Mint(fixture.Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/dig-none"));

        using var get = await SendAsync(HttpMethod.Get, "/crm/customers/dig-none", read);
        using var empty = await SendAsync(HttpMethod.Patch, "/crm/customers/dig-none", update, new ByteArrayContent([]));
        using var refused = await SendAsync(HttpMethod.Get, "/crm/customers/dig-other", read);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        foreach (var response in new[] { get, empty, refused })
        {
            Assert.Equal(JsonValueKind.Null, (await EventAsync(response)).GetProperty("request").GetProperty("body_sha256").ValueKind);
        }
    }

    [Fact]
    public async Task Refusal_WithoutAReason_LogsADashNotAnEmptyReason()
    {
        var token = fixture.Issuer.Mint(fixture.Issuer.Claims(resource: "crm:customer/log-1"));

        using var response = await SendAsync(HttpMethod.Get, "/crm/customers/log-2", token);

        await ProblemAssert.IsProblemAsync(response, 403, "insufficient_scope");
        var decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();
        var line = Assert.Single(fixture.Capture.Logs.Entries.Snapshot(), l => l.EventId == 10 && l.Text.Contains(decisionId, StringComparison.Ordinal));
        Assert.StartsWith($"Decision {decisionId}: deny insufficient_scope on route crm-get-customer (reason -, jti ", line.Text, StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return fixture.Gateway.Client.SendAsync(request);
    }

    private Task<JsonElement> EventAsync(HttpResponseMessage response) =>
        AuditTrail.WaitForEventAsync(fixture.LiveFile, response.Headers.GetValues("Gateway-Decision-Id").Single());

    private static string? BodySha256(JsonElement audit) => audit.GetProperty("request").GetProperty("body_sha256").GetString();

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static System.Text.Json.Nodes.JsonObject Expired(System.Text.Json.Nodes.JsonObject claims)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        claims["iat"] = now - 3600;
        claims["exp"] = now - 600;
        return claims;
    }

    private static System.Text.Json.Nodes.JsonObject WithAudience(System.Text.Json.Nodes.JsonObject claims, string audience)
    {
        claims["aud"] = audience;
        return claims;
    }

    private static string BreakSignature(string token) => token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");

    /// <summary>A body of known length whose bytes after <c>head</c> are sent only once the upstream has some.</summary>
    private sealed class HeldBackContent(int head, int length, Func<long> upstreamBytes) : HttpContent
    {
        private readonly byte[] _bytes = RandomNumberGenerator.GetBytes(length);

        public int Length => length;
        public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(_bytes));
        public bool UpstreamHadBytesBeforeTheRest { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var before = upstreamBytes();
            await stream.WriteAsync(_bytes.AsMemory(0, head));
            await stream.FlushAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (upstreamBytes() == before && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            UpstreamHadBytesBeforeTheRest = upstreamBytes() > before;
            await stream.WriteAsync(_bytes.AsMemory(head));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }
}
