using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Telemetry;

namespace Gateway.FunctionalTests.Telemetry;

/// <summary>
/// Contract section 8 from outside: the gateway's spans as an in-memory exporter receives them, the
/// traceparent the upstream receives, and the trace ids in problems and audit events, all one trace.
/// </summary>
public sealed class TracingTests
{
    [Fact]
    public async Task Authorize_AllowedCall_ServerSpanThenAuthorizeThenProxiedCall_InOneTrace()
    {
        var capture = new TelemetryCapture();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, configure: capture.Configure);
        var sub = "user:alice-" + Guid.NewGuid().ToString("N");
        var claims = issuer.Claims(sub: sub);
        var token = issuer.Mint(claims);

        using var response = await SendAsync(gateway, HttpMethod.Get, "/crm/customers/42", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();
        var authorize = await capture.WaitForAuthorizeSpanAsync(decisionId);
        var trace = authorize.TraceId;

        // Parent: ASP.NET Core's server span of this request.
        var server = await capture.WaitForSpanAsync(s => s.TraceId == trace && s.SpanId == authorize.ParentSpanId, "parent of gateway.authorize");
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.Equal("Microsoft.AspNetCore", server.Source.Name);
        Assert.Equal(ActivityKind.Internal, authorize.Kind);

        // Child: the proxied call, an HTTP client span under gateway.authorize.
        var received = Assert.Single(upstream.Received, r => r.Headers.GetValueOrDefault("Gateway-Decision-Id") == decisionId);
        var (upstreamTrace, upstreamParent) = ParseTraceparent(received.Headers["traceparent"]);
        Assert.Equal(trace, upstreamTrace);
        var proxied = await capture.WaitForSpanAsync(s => s.TraceId == trace && s.SpanId == upstreamParent, "named by the upstream's traceparent");
        Assert.Equal(ActivityKind.Client, proxied.Kind);
        Assert.Equal("System.Net.Http", proxied.Source.Name);
        Assert.Contains(authorize.SpanId, Ancestors(capture, proxied));

        // The contract's attributes, with the values of this call.
        Assert.Equal("49", response.Headers.GetValues("Gateway-Steps-Remaining").Single());
        Assert.Equal("999999", response.Headers.GetValues("Gateway-Risk-Remaining").Single());
        var expected = new Dictionary<string, string>
        {
            [GatewayAttributes.Route] = "crm-get-customer",
            [GatewayAttributes.Decision] = "allow",
            [GatewayAttributes.Action] = "crm.customers:read",
            [GatewayAttributes.Resource] = "crm:customer/42",
            [GatewayAttributes.Tier] = "low",
            [GatewayAttributes.Risk] = "1",
            [GatewayAttributes.TokenJti] = claims["jti"]!.GetValue<string>(),
            [GatewayAttributes.Agent] = "agent:planner",
            [GatewayAttributes.DelegationDepth] = "1",
            [GatewayAttributes.StepsRemaining] = "49",
            [GatewayAttributes.RiskRemaining] = "999999",
            [GatewayAttributes.DecisionId] = decisionId,
            [GatewayAttributes.EndUserId] = Pseudonym(sub),
        };
        Assert.Equal(expected.OrderBy(e => e.Key), Attributes(authorize).OrderBy(e => e.Key));
        Assert.Null(authorize.GetTagItem(GatewayAttributes.Error));
        Assert.Equal(ActivityStatusCode.Unset, authorize.Status);
        Assert.DoesNotContain(capture.Spans.Snapshot(), s => TelemetryCapture.Describe(s).Contains(sub, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Authorize_RawSubjectTrue_EnduserIdIsTheSubItself()
    {
        var capture = new TelemetryCapture();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var policy = TestPolicies.Default + "\ntelemetry:\n  raw_subject: true\n";
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, policy, configure: capture.Configure);
        var sub = "user:bob-" + Guid.NewGuid().ToString("N");

        using var response = await SendAsync(gateway, HttpMethod.Get, "/crm/customers/42", issuer.Mint(issuer.Claims(sub: sub)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var authorize = await capture.WaitForAuthorizeSpanAsync(response.Headers.GetValues("Gateway-Decision-Id").Single());
        Assert.Equal(sub, authorize.GetTagItem(GatewayAttributes.EndUserId));
    }

    public static TheoryData<string, string, string, bool> Refusals => new()
    {
        // path, token kind, error, route matched
        { "/nowhere/at/all", "good", "no_route", false },
        { "/crm/customers/4%2F2", "good", "invalid_request", false },
        { "/crm/customers/42", "none", "invalid_token", true },
        { "/crm/customers/7", "good", "insufficient_scope", true },
        { "/crm/exports/1", "export", "insufficient_user_authentication", true },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refusal_ProblemTraceId_IsItsSpansAndItsAuditEvents(string path, string tokenKind, string error, bool routeMatched)
    {
        using var folder = new AuditFolder();
        var capture = new TelemetryCapture();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile), configure: capture.Configure);
        var token = tokenKind switch
        {
            "good" => issuer.Mint(),
            "export" => issuer.Mint(issuer.Claims(action: "crm.exports:create", resource: "crm:export/1")),
            _ => null,
        };
        var method = tokenKind == "export" ? HttpMethod.Post : HttpMethod.Get;

        using var response = await SendAsync(gateway, method, path, token);

        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(error, problem.GetProperty("error").GetString());
        var traceId = problem.GetProperty("trace_id").GetString()!;
        var decisionId = problem.GetProperty("decision_id").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", traceId);

        var authorize = await capture.WaitForAuthorizeSpanAsync(decisionId);
        Assert.Equal(traceId, authorize.TraceId.ToHexString());
        Assert.Equal("deny", authorize.GetTagItem(GatewayAttributes.Decision));
        Assert.Equal(error, authorize.GetTagItem(GatewayAttributes.Error));
        Assert.Equal(routeMatched, authorize.GetTagItem(GatewayAttributes.Route) is not null);
        var server = await capture.WaitForSpanAsync(s => s.TraceId == authorize.TraceId && s.SpanId == authorize.ParentSpanId, "parent of gateway.authorize");
        Assert.Equal(ActivityKind.Server, server.Kind);

        var auditEvent = await AuditTrail.WaitForEventAsync(folder.LiveFile, decisionId);
        Assert.Equal(traceId, auditEvent.GetProperty("trace_id").GetString());
        Assert.Equal(authorize.SpanId.ToHexString(), auditEvent.GetProperty("span_id").GetString());
        Assert.Equal(error, auditEvent.GetProperty("error").GetString());
        Assert.Empty(upstream.Received);
    }

    internal static async Task<HttpResponseMessage> SendAsync(TestGateway gateway, HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await gateway.Client.SendAsync(request);
    }

    /// <summary>W3C traceparent: version-traceid-parentid-flags.</summary>
    internal static (ActivityTraceId TraceId, ActivitySpanId ParentId) ParseTraceparent(string traceparent)
    {
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", traceparent);
        var parts = traceparent.Split('-');
        return (ActivityTraceId.CreateFromString(parts[1]), ActivitySpanId.CreateFromString(parts[2]));
    }

    /// <summary>The ids of every captured span above <paramref name="span"/> in its trace.</summary>
    private static List<ActivitySpanId> Ancestors(TelemetryCapture capture, Activity span)
    {
        var byId = capture.Spans.Snapshot().Where(s => s.TraceId == span.TraceId).GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        var ancestors = new List<ActivitySpanId>();
        var parent = span.ParentSpanId;
        while (parent != default && ancestors.Count < 64)
        {
            ancestors.Add(parent);
            parent = byId.TryGetValue(parent, out var next) ? next.ParentSpanId : default;
        }

        return ancestors;
    }

    private static Dictionary<string, string> Attributes(Activity span) => span.TagObjects
        .Where(t => t.Key.StartsWith("gateway.", StringComparison.Ordinal) || t.Key == GatewayAttributes.EndUserId)
        .ToDictionary(t => t.Key, t => Convert.ToString(t.Value, CultureInfo.InvariantCulture)!);

    /// <summary>
    /// docs/telemetry.md, computed here independently: the first 128 bits of SHA-256 over
    /// "gateway.enduser.id\n" and the sub, or of HMAC-SHA256 when the deployment sets a key.
    /// </summary>
    internal static string Pseudonym(string sub)
    {
        var key = Environment.GetEnvironmentVariable(SubjectHasher.KeyEnvironmentVariable);
        var digest = string.IsNullOrEmpty(key)
            ? SHA256.HashData(Encoding.UTF8.GetBytes("gateway.enduser.id\n" + sub))
            : HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(sub));
        return Convert.ToHexStringLower(digest.AsSpan(0, 16));
    }
}
