using System.Text;
using CsCheck;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Testing;
using Xunit.Abstractions;

namespace Gateway.FunctionalTests.Hostile;

/// <summary>
/// Malformed and hostile HTTP over a raw socket against a real gateway, each request carrying a VALID token for the
/// resource it names: whatever the framing trick, the answer is a specific 4xx, it comes within the client's timeout,
/// and the upstream never sees the request. So nothing here is stopped by the token check, only by HTTP handling.
/// </summary>
public sealed class HttpFuzzTests(GatewayFixture fixture, ITestOutputHelper output) : IClassFixture<GatewayFixture>
{
    private static readonly string[] Families =
    [
        "cl-and-te", "two-content-lengths", "content-length-list", "bad-transfer-encoding", "obs-fold", "control-in-header",
        "invalid-utf8-path", "percent-trick", "huge-header", "many-headers", "long-request-line", "two-hosts", "no-host",
        "space-in-target", "absolute-form", "two-authorizations",
    ];

    /// <summary>The specific answer each family gets (Kestrel's own for what it refuses, the gateway's for the rest).</summary>
    private static readonly Dictionary<string, int> Expected = new(StringComparer.Ordinal)
    {
        ["cl-and-te"] = 400,
        ["two-content-lengths"] = 400,
        ["content-length-list"] = 400,
        ["bad-transfer-encoding"] = 400,
        ["obs-fold"] = 400,
        ["control-in-header"] = 400,
        ["invalid-utf8-path"] = 400,
        ["percent-trick"] = 400,
        ["huge-header"] = 431,
        ["many-headers"] = 431,
        ["long-request-line"] = 414,
        ["two-hosts"] = 400,
        ["no-host"] = 400,
        ["space-in-target"] = 400,
        ["absolute-form"] = 400,
        ["two-authorizations"] = 401,
    };

    private static readonly string[] PercentTricks =
        ["%2e%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%252f", "%25", "%00", "%0a", "%c0%af", "%e0%80%af", "%c0%ae%c0%ae", "%ff", "%c3", "%", "%4", "%zz", "..%2f", ".%2e"];

    [Fact]
    public async Task RawRequests_HostileFraming_GetA4xxAndAreNeverForwarded()
    {
        var counts = new Dictionary<string, Dictionary<int, int>>(StringComparer.Ordinal);
        var cases = Gen.Select(Gen.Int[0, Families.Length - 1], Gen.Int[0, 1_000_000], Gen.Int[0, PercentTricks.Length - 1], Gen.Byte);
        var number = 0;

        await Fuzz.RunAsync(output, "http-hostile-framing", cases, 400, async c =>
        {
            var family = Families[c.Item1];
            var marker = $"fuzz{++number}x{c.Item2}";
            var request = Build(family, marker, c.Item2, PercentTricks[c.Item3], c.Item4);

            var response = await RawHttp.SendAsync(fixture.Gateway.Address, request);

            Assert.Equal(Expected[family], response.Status);
            Assert.Equal(0, fixture.ForwardedCount(marker));
            var seen = counts.TryGetValue(family, out var byStatus) ? byStatus : counts[family] = [];
            seen[response.Status] = seen.GetValueOrDefault(response.Status) + 1;
        }, c => $"{Families[c.Item1]} n={c.Item2} catch-all={c.Item2 / 1000 % 2 == 1} trick={PercentTricks[c.Item3]} byte={c.Item4}");

        foreach (var (family, byStatus) in counts.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{family}: " + string.Join(", ", byStatus.OrderBy(s => s.Key).Select(s => $"{s.Value}x {s.Key}")));
        }
    }

    private string Build(string family, string marker, int n, string trick, byte b)
    {
        var host = fixture.Gateway.Address.Authority;

        // Every family runs on a fixed template and on a catch-all route (PATCH /files/{**path}), whose resource has
        // several segments; the token grants everything under files:doc, so only HTTP handling can stop the request.
        var catchAll = n / 1000 % 2 == 1;
        var token = catchAll
            ? fixture.Issuer.Mint(fixture.Issuer.Claims(action: "files.docs:update", resource: "files:doc/**"))
            : fixture.Issuer.Mint(fixture.Issuer.Claims(action: "crm.customers:update", resource: "crm:customer/" + marker));
        var path = catchAll ? $"/files/{marker}/doc" : "/crm/customers/" + marker;
        var auth = "Authorization: Bearer " + token + "\r\n";
        var body = "{\"name\":\"x\"}";
        var request = new StringBuilder();
        switch (family)
        {
            case "cl-and-te":
                // The classic CL.TE / TE.CL smuggling shape, with a second request hidden in the body.
                var smuggled = $"0\r\n\r\nGET /crm/customers/{marker}-smuggled HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n";
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}");
                request.Append(n % 2 == 0
                    ? $"Content-Length: {n % 20}\r\nTransfer-Encoding: chunked\r\n"
                    : $"Transfer-Encoding: chunked\r\nContent-Length: {n % 20}\r\n");
                request.Append("\r\n").Append(smuggled);
                break;
            case "two-content-lengths":
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}\r\nContent-Length: {body.Length + 1 + (n % 50)}\r\n\r\n{body}");
                break;
            case "content-length-list":
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}, {body.Length + 1 + (n % 50)}\r\n\r\n{body}");
                break;
            case "bad-transfer-encoding":
                var coding = new[] { "chunked, identity", "xchunked", "chunked\u000b", "identity", "chunked;x=1" }[n % 5];
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Transfer-Encoding: {coding}\r\n\r\n{body.Length:x}\r\n{body}\r\n0\r\n\r\n");
                break;
            case "obs-fold":
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}X-Folded: a\r\n{(n % 2 == 0 ? " " : "\t")}continued {n}\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "control-in-header":
                var control = (char)(b % 32 is 9 or 10 or 13 ? 0 : b % 32);
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}X-Control: a{control}b\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "invalid-utf8-path":
                var raw = new[] { "\u00c3\u0028", "\u00ff", "\u00c0\u00af", "\u00ed\u00a0\u0080", "\u0080" }[n % 5];
                request.Append($"PATCH {path}{raw} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "percent-trick":
                var at = n % 3;
                var target = (catchAll, at) switch
                {
                    (false, 0) => $"/crm/customers/{trick}/{marker}",
                    (false, 1) => $"/crm/customers/{marker}{trick}",
                    (false, _) => $"/crm/{trick}customers/{marker}",
                    (true, 0) => $"/files/{marker}/{trick}/doc",
                    (true, 1) => $"/files/{marker}/doc{trick}",
                    (true, _) => $"/files/{trick}{marker}/doc",
                };
                request.Append($"PATCH {target} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "huge-header":
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}X-Huge: {new string('h', 130 * 1024 + (n % 65536))}\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "many-headers":
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}");
                for (var i = 0; i < 101 + (n % 400); i++)
                {
                    request.Append($"X-Many-{i}: v\r\n");
                }

                request.Append($"Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "long-request-line":
                request.Append($"PATCH {path}?q={new string('q', 17 * 1024 + (n % 16384))} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "two-hosts":
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nHost: evil.example\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "no-host":
                request.Append($"PATCH {path} HTTP/1.1\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "space-in-target":
                request.Append($"PATCH {path} x HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            case "absolute-form":
                request.Append($"PATCH http://{(n % 2 == 0 ? host : "evil.example")}{path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
            default:
                request.Append($"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{auth}{auth}Content-Length: {body.Length}\r\n\r\n{body}");
                break;
        }

        // Every request ends the connection, so a server that waited for more would show up as a timeout.
        return request.ToString().Replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n", StringComparison.Ordinal);
    }
}
