using System.Buffers.Text;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.StatusLists;
using Gateway.StatusLists;

namespace Gateway.FunctionalTests.Hostile;

/// <summary>
/// Hostile status lists served to a real gateway: each makes the list unusable (so <c>on_store_failure: deny</c>
/// answers 503 and nothing reaches the upstream), never a 500, never an allowed call; an index past the end of
/// a good list and a <c>uri</c> the policy does not name refuse the token itself.
/// </summary>
public sealed class StatusListHostileTests(StatusListFixture fixture) : IClassFixture<StatusListFixture>
{
    public static TheoryData<string, string> UnusableLists => new()
    {
        { "bad-compression", "is not ZLIB-compressed data" },
        { "raw-deflate", "is not ZLIB-compressed data" },
        { "not-base64url", "is not base64url" },
        { "huge-list", "decompresses to more than 65536 bytes" },
        { "wrong-typ", "'typ' is not 'statuslist+jwt'" },
        { "access-token-typ", "'typ' is not 'statuslist+jwt'" },
        { "bad-signature", "signature does not verify" },
        { "tampered", "signature does not verify" },
        { "alg-none", "Unsigned tokens" },
        { "sub-of-another-list", "'sub' is not the token's status list 'uri'" },
        { "other-issuer", "'iss' is not the token's issuer" },
        { "expired", "has expired" },
        { "bits-3", "must be 1, 2, 4 or 8" },
        { "no-status-list", "needs 'status_list'" },
        { "zero-ttl", "'ttl' is not a positive number" },
        { "wrong-content-type", "not application/statuslist+jwt" },
        { "server-error", "answered 500" },
        { "plain-text", "not a compact JWS" },
        { "oversized-body", "body is larger than" },
    };

    // Kind names stay clear of the privacy test's garbage-token marker ("not-a"): that test treats every span in the
    // process, the list server's included, as a place a secret must not appear.
    [Theory]
    [MemberData(nameof(UnusableLists))]
    public async Task UnusableList_Is503PolicyStoreUnavailable_NamingTheProblem_AndNothingIsForwarded(string kind, string problemFragment)
    {
        var path = "lists/" + kind + "-" + Guid.NewGuid().ToString("N")[..8];
        var uri = fixture.Lists.Url(path);
        var issuer = fixture.Issuer;
        using var forger = new TestIssuer(issuer.Issuer, issuer.Kid);
        var good = StatusList.Encode(new byte[16]);
        string Signed(int bits = 1, string? lst = null, string typ = "statuslist+jwt", Action<JsonObject>? edit = null, int? ttl = 60) =>
            StatusListServer.Sign(issuer, uri, bits, lst ?? good, ttl, typ, edit);
        switch (kind)
        {
            case "bad-compression": fixture.Lists.Serve(path, Signed(lst: Base64Url.EncodeToString("\x78\x9c garbage, not deflate"u8))); break;
            case "raw-deflate": fixture.Lists.Serve(path, Signed(lst: RawDeflate(new byte[16]))); break;
            case "not-base64url": fixture.Lists.Serve(path, Signed(lst: "eNrb+uRgA/AhcBXQ")); break;
            case "huge-list": fixture.Lists.Serve(path, Signed(lst: StatusList.Encode(new byte[8 * 1024 * 1024]))); break;
            case "wrong-typ": fixture.Lists.Serve(path, Signed(typ: "JWT")); break;
            case "access-token-typ": fixture.Lists.Serve(path, Signed(typ: "at+jwt")); break;
            case "bad-signature": fixture.Lists.Serve(path, StatusListServer.Sign(forger, uri, 1, good)); break;
            case "tampered": fixture.Lists.Serve(path, Tamper(Signed(), Signed(lst: StatusList.Encode(new byte[32])))); break;
            case "alg-none": fixture.Lists.Serve(path, TestIssuer.Base64Url("{\"alg\":\"none\",\"typ\":\"statuslist+jwt\"}"u8.ToArray()) + "." + Signed().Split('.')[1] + ".AAAA"); break;
            case "sub-of-another-list": fixture.Lists.Serve(path, StatusListServer.Sign(issuer, fixture.Lists.Url("lists/someone-else"), 1, good)); break;
            case "other-issuer": fixture.Lists.Serve(path, Signed(edit: c => c["iss"] = "https://stranger.test")); break;
            case "expired": fixture.Lists.Serve(path, Signed(edit: c => c["exp"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds())); break;
            case "bits-3": fixture.Lists.Serve(path, Signed(bits: 3)); break;
            case "no-status-list": fixture.Lists.Serve(path, Signed(edit: c => c.Remove("status_list"))); break;
            case "zero-ttl": fixture.Lists.Serve(path, Signed(ttl: 0)); break;
            case "wrong-content-type": fixture.Lists.Serve(path, Signed(), contentType: "application/json"); break;
            case "server-error": fixture.Lists.Serve(path, "oops", status: 500); break;
            case "plain-text": fixture.Lists.Serve(path, "this is not a status list"); break;
            case "oversized-body": fixture.Lists.Serve(path, new string('a', (2 * 65536) + (64 * 1024) + 1)); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }

        var token = fixture.Mint(uri, 1);
        var forwarded = fixture.Upstream.Received.Count;

        using var response = await fixture.CallAsync(token);

        var problem = await ProblemAssert.IsProblemAsync(response, 503, "policy_store_unavailable");
        Assert.Equal("status_list_unavailable", problem.GetProperty("reason").GetString());
        Assert.Contains(problemFragment, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(forwarded, fixture.Upstream.Received.Count);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(1_000_000)]
    [InlineData(long.MaxValue)]
    public async Task IndexOutOfRange_RefusedAsInvalidToken_WithTheListsLength(long index)
    {
        var path = "lists/short-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Lists.Publish(fixture.Issuer, path, size: 16, revoked: []);

        using var response = await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), index));

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Equal("status_list", problem.GetProperty("reason").GetString());
        Assert.Contains($"entry {index} is beyond the end of its list (16 entries)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://lists.example/lists/a")]
    [InlineData("https://lists.example/lists/a")]
    [InlineData("{LISTS}lists/../elsewhere/a")]
    [InlineData("{LISTS}lists/%2e%2e/elsewhere/a")]
    [InlineData("{LISTS}lists%2fa")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public async Task StatusUriNotUnderTheIssuersStatusLists_RefusedAsInvalidToken_AndNothingFetched(string uri)
    {
        var before = fixture.Lists.Requests("lists/a") + fixture.Lists.Requests("elsewhere/a");
        var token = fixture.Mint(uri.Replace("{LISTS}", fixture.Lists.Address.ToString(), StringComparison.Ordinal), 1);

        using var response = await fixture.CallAsync(token);

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Contains("status.status_list", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Lists.Requests("lists/a") + fixture.Lists.Requests("elsewhere/a"));
    }

    [Theory]
    [InlineData("{\"status_list\": {\"idx\": -1, \"uri\": \"{URI}\"}}")]
    [InlineData("{\"status_list\": {\"idx\": 1.5, \"uri\": \"{URI}\"}}")]
    [InlineData("{\"status_list\": {\"idx\": \"1\", \"uri\": \"{URI}\"}}")]
    [InlineData("{\"status_list\": {\"uri\": \"{URI}\"}}")]
    [InlineData("{\"status_list\": {\"idx\": 1}}")]
    [InlineData("{\"status_list\": \"{URI}\"}")]
    [InlineData("\"revoked\"")]
    public async Task MalformedStatusClaim_RefusedAsInvalidToken(string status)
    {
        var claims = fixture.Issuer.Claims(resource: "crm:customer/**");
        claims["status"] = JsonNode.Parse(status.Replace("{URI}", fixture.Lists.Url("lists/a"), StringComparison.Ordinal));

        using var response = await fixture.CallAsync(fixture.Issuer.Mint(claims));

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Contains("'status", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static string RawDeflate(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(bytes);
        }

        return Base64Url.EncodeToString(output.ToArray());
    }

    // The signature of one token over the header and payload of another.
    private static string Tamper(string signed, string other) =>
        string.Join('.', other.Split('.')[0], other.Split('.')[1], signed.Split('.')[2]);
}
