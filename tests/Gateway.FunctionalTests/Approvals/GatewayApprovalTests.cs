using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using static Gateway.FunctionalTests.Approvals.ApprovalHarness;

namespace Gateway.FunctionalTests.Approvals;

/// <summary>
/// The approval flow as an agent and an approver see it, through the real gateway on Kestrel: one
/// shared test class, run once on the in-memory store and once on a real redis-server.
/// </summary>
public abstract class GatewayApprovalTests : IAsyncLifetime
{
    protected TestIssuer Issuer { get; } = new();
    protected UpstreamServer Upstream { get; private set; } = null!;
    protected TestGateway Gateway { get; private set; } = null!;

    protected abstract IReadOnlyDictionary<string, string?> StoreSettings { get; }

    public virtual async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await TestGateway.StartAsync(Issuer, Upstream, RenderPolicy(), StoreSettings);
    }

    public virtual async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
    }

    protected int Forwarded(string marker) => Upstream.Received.Count(r => r.Path.Contains(marker, StringComparison.Ordinal));

    [Fact]
    public async Task CallNeedingApproval_IsRefusedWithIdUrlAndRetryAfter_AndNotForwarded()
    {
        var token = AgentToken(Issuer);

        var response = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/refused-1", token);

        var problem = await ApprovalRequiredAsync(response, "approval_pending");
        var id = problem.GetProperty("approval_id").GetString();
        Assert.Equal($"{Gateway.AdminAddress.ToString().TrimEnd('/')}/approvals/{id}", problem.GetProperty("approval_url").GetString());
        Assert.Equal(5, problem.GetProperty("retry_after").GetInt32());
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        Assert.Equal("crm-delete-customer", problem.GetProperty("route").GetString());
        Assert.Contains(id!, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, Forwarded("refused-1"));
    }

    [Fact]
    public async Task FullFlow_ApproveThenRetry_AdmitsTheExactCallOnce()
    {
        var token = AgentToken(Issuer);
        const string Body = """{"amount":120,"card_number":"4111111111111111","note":"duplicate charge"}""";
        var refused = await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Post, "/payments/p-full/refunds?source=ticket", token, Body), "approval_pending");
        var id = refused.GetProperty("approval_id").GetString()!;

        var view = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Get, $"/approvals/{id}"));
        var approved = await JsonAsync(await ApproveAsync(Gateway, id));
        var retry = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-full/refunds?source=ticket", token, Body, id);
        var second = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-full/refunds?source=ticket", token, Body, id);

        Assert.Equal("pending", view.GetProperty("status").GetString());
        Assert.Equal("Refund payment p-full", view.GetProperty("description").GetString());
        Assert.Equal("payments.refunds:create", view.GetProperty("action").GetString());
        Assert.Equal("payments:payment/p-full", view.GetProperty("resource").GetString());
        Assert.True(view.GetProperty("blast_radius").GetProperty("irreversible").GetBoolean());
        Assert.Equal(50, view.GetProperty("blast_radius").GetProperty("risk").GetInt32());
        Assert.Equal("/payments/p-full/refunds?source=ticket", view.GetProperty("request").GetProperty("path").GetString());
        Assert.Equal(Sha256Hex(Body), view.GetProperty("request").GetProperty("body_sha256").GetString());
        var preview = view.GetProperty("request").GetProperty("preview").GetString()!;
        Assert.Contains("[redacted]", preview, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", preview, StringComparison.Ordinal);
        Assert.Contains("duplicate charge", preview, StringComparison.Ordinal);
        Assert.Equal(refused.GetProperty("trace_id").GetString(), view.GetProperty("trace_id").GetString());

        Assert.Equal("approved", approved.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var forwarded = Assert.Single(Upstream.Received, r => r.Path.Contains("p-full", StringComparison.Ordinal));
        Assert.Equal(Body, Encoding.UTF8.GetString(forwarded.Body));
        await ApprovalRequiredAsync(second, "approval_used");
        Assert.Equal(1, Forwarded("p-full"));
        var used = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Get, $"/approvals/{id}"));
        Assert.Equal("used", used.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Retry_WithAnotherBodyPathOrToken_IsRefusedAndConsumesNothing()
    {
        var token = AgentToken(Issuer);
        const string Body = """{"amount":10}""";
        var id = (await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Post, "/payments/p-bind/refunds", token, Body), "approval_pending"))
            .GetProperty("approval_id").GetString()!;
        await JsonAsync(await ApproveAsync(Gateway, id));

        var otherBody = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-bind/refunds", token, """{"amount":10000}""", id);
        var otherPath = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-other/refunds", token, Body, id);
        var otherQuery = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-bind/refunds?x=1", token, Body, id);
        var otherToken = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-bind/refunds", AgentToken(Issuer), Body, id);
        var exact = await CallAsync(Gateway, HttpMethod.Post, "/payments/p-bind/refunds", token, Body, id);

        Assert.Contains("another request body", (await ApprovalRequiredAsync(otherBody, "approval_mismatch")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("another path", (await ApprovalRequiredAsync(otherPath, "approval_mismatch")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ApprovalRequiredAsync(otherQuery, "approval_mismatch");
        Assert.Contains("another token", (await ApprovalRequiredAsync(otherToken, "approval_mismatch")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        Assert.Equal(1, Forwarded("/payments/p-"));
    }

    [Fact]
    public async Task Deny_RetryIsRefusedWithTheReason_AndAskingAgainPointsAtTheDenial()
    {
        var token = AgentToken(Issuer);
        var id = (await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/deny-1", token), "approval_pending"))
            .GetProperty("approval_id").GetString()!;

        var tooLong = await AdminAsync(Gateway, HttpMethod.Post, $"/approvals/{id}/deny", body: new { reason = new string('r', 501) });
        var denied = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Post, $"/approvals/{id}/deny", body: new { reason = "wrong customer" }));
        var retry = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/deny-1", token, approvalId: id);
        var again = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/deny-1", token);
        var approveAfter = await ApproveAsync(Gateway, id);

        await ProblemAssert.IsProblemAsync(tooLong, 400, "invalid_request");
        Assert.Equal("denied", denied.GetProperty("status").GetString());
        Assert.Equal("wrong customer", denied.GetProperty("note").GetString());
        Assert.Contains("wrong customer", (await ApprovalRequiredAsync(retry, "approval_denied")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(id, (await ApprovalRequiredAsync(again, "approval_denied")).GetProperty("approval_id").GetString());
        Assert.Equal(HttpStatusCode.Conflict, approveAfter.StatusCode);
        Assert.Equal(0, Forwarded("deny-1"));
    }

    [Theory]
    [InlineData("no body")]
    [InlineData("empty body")]
    [InlineData("empty object")]
    [InlineData("blank reason")]
    public async Task Deny_WithoutAReason_Denies_AndTheRetryIsRefusedWithoutQuotingOne(string body)
    {
        var token = AgentToken(Issuer);
        var path = "/crm/customers/deny-bare-" + body.Replace(' ', '-');
        var id = (await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Delete, path, token), "approval_pending"))
            .GetProperty("approval_id").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/approvals/{id}/deny")
        {
            Content = body switch
            {
                "no body" => null,
                "empty body" => new ByteArrayContent([]),
                "empty object" => new StringContent("{}", Encoding.UTF8, "application/json"),
                _ => new StringContent("{\"reason\": \"   \"}", Encoding.UTF8, "application/json"),
            },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);

        var denied = await JsonAsync(await Gateway.Admin.SendAsync(request));
        var retry = await CallAsync(Gateway, HttpMethod.Delete, path, token, approvalId: id);

        Assert.Equal("denied", denied.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, denied.GetProperty("note").ValueKind);
        var detail = (await ApprovalRequiredAsync(retry, "approval_denied")).GetProperty("detail").GetString();
        Assert.Equal($"A human denied approval {id} for this exact call. Do not retry it unchanged.", detail);
        Assert.Equal(0, Forwarded(path));
    }

    [Fact]
    public async Task Deny_ChunkedBodyPastTheLimit_IsRefusedAndLeavesTheApprovalPending()
    {
        var token = AgentToken(Issuer);
        var id = (await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/deny-huge", token), "approval_pending"))
            .GetProperty("approval_id").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/approvals/{id}/deny")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"reason\": \"" + new string('x', 64 * 1024) + "\"}"))),
        };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.AdminKey);

        var refused = await Gateway.Admin.SendAsync(request);
        var view = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Get, $"/approvals/{id}"));

        await ProblemAssert.IsProblemAsync(refused, 400, "invalid_request");
        Assert.Equal("pending", view.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Retry_WhilePending_IsToldToWait_AndTheSameCallReusesItsRequest()
    {
        var token = AgentToken(Issuer);
        var first = await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/pending-1", token), "approval_pending");
        var id = first.GetProperty("approval_id").GetString()!;

        var retry = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/pending-1", token, approvalId: id);
        var askAgain = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/pending-1", token);
        var pending = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Get, "/approvals?status=pending"));

        Assert.True((await ApprovalRequiredAsync(retry, "approval_pending")).GetProperty("retry_after").GetInt32() >= 1);
        Assert.Equal(id, (await ApprovalRequiredAsync(askAgain, "approval_pending")).GetProperty("approval_id").GetString());
        Assert.Single(pending.GetProperty("approvals").EnumerateArray(), a => a.GetProperty("id").GetString() == id);
        Assert.All(pending.GetProperty("approvals").EnumerateArray(), a => Assert.Equal("pending", a.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task ApprovalId_Malformed_OrUnknown_IsRefused()
    {
        var token = AgentToken(Issuer);

        var malformed = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/x-1", token, approvalId: "not-an-id");
        var unknown = await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/x-1", token, approvalId: new string('a', 32));

        var problem = await ProblemAssert.IsProblemAsync(malformed, 403, "approval_required");
        Assert.Equal("approval_invalid", problem.GetProperty("reason").GetString());
        Assert.Equal("approval_unknown", (await ProblemAssert.IsProblemAsync(unknown, 403, "approval_required")).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task RiskBudgetEscalation_ApprovedCallPassesTheLimitOnce_WithoutResettingTheBudget()
    {
        var token = AgentToken(Issuer, sub: "user:risky-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(Gateway, HttpMethod.Patch, "/crm/customers/r1", token, "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(Gateway, HttpMethod.Patch, "/crm/customers/r2", token, "{}")).StatusCode);

        var escalated = await CallAsync(Gateway, HttpMethod.Patch, "/crm/customers/r3", token, "{}");
        var problem = await ApprovalRequiredAsync(escalated, "risk_budget");
        var id = problem.GetProperty("approval_id").GetString()!;
        var view = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Get, $"/approvals/{id}"));
        await JsonAsync(await ApproveAsync(Gateway, id));
        var retry = await CallAsync(Gateway, HttpMethod.Patch, "/crm/customers/r3", token, "{}", id);
        var next = await CallAsync(Gateway, HttpMethod.Patch, "/crm/customers/r4", token, "{}");

        Assert.Equal("risk_budget", view.GetProperty("reason").GetString());
        Assert.Equal(20, view.GetProperty("blast_radius").GetProperty("risk_remaining").GetInt32());
        Assert.Equal(100, view.GetProperty("blast_radius").GetProperty("risk_limit").GetInt32());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("0", Assert.Single(retry.Headers.GetValues("Gateway-Risk-Remaining")));
        await ApprovalRequiredAsync(next, "risk_budget");
        var budgets = await JsonAsync(await AdminAsync(Gateway, HttpMethod.Get, $"/budgets?sub={Uri.EscapeDataString(view.GetProperty("sub").GetString()!)}&agent=agent:planner"));
        Assert.Equal(120, budgets.GetProperty("risk").GetProperty("used").GetInt32());
    }

    [Fact]
    public async Task AdminApi_NeedsTheKey_ButThePageShellCarriesNoData()
    {
        var token = AgentToken(Issuer);
        var id = (await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/secret-42", token), "approval_pending"))
            .GetProperty("approval_id").GetString()!;

        var json = await AdminAsync(Gateway, HttpMethod.Get, $"/approvals/{id}", key: null);
        var list = await AdminAsync(Gateway, HttpMethod.Get, "/approvals", key: null);
        var approve = await AdminAsync(Gateway, HttpMethod.Post, $"/approvals/{id}/approve", key: "wrong-key");
        var pageRequest = new HttpRequestMessage(HttpMethod.Get, $"/approvals/{id}");
        pageRequest.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        var page = await Gateway.Admin.SendAsync(pageRequest);
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, json.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, approve.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var csp = Assert.Single(page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'sha256-", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-42", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.Contains("type=\"password\"", html, StringComparison.Ordinal);
    }
}

public sealed class InMemoryGatewayApprovalTests : GatewayApprovalTests
{
    protected override IReadOnlyDictionary<string, string?> StoreSettings { get; } = new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" };
}

public sealed class RedisGatewayApprovalTests : GatewayApprovalTests
{
    private RedisServer _redis = null!;
    private Dictionary<string, string?> _settings = [];

    protected override IReadOnlyDictionary<string, string?> StoreSettings => _settings;

    public override async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.ConnectionString };
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task TwoGatewaysOnOneRedis_ConcurrentRetriesWithOneApproval_AdmitExactlyOne()
    {
        await using var second = await TestGateway.StartAsync(Issuer, Upstream, RenderPolicy(), _settings);
        var token = AgentToken(Issuer);
        var id = (await ApprovalRequiredAsync(await CallAsync(Gateway, HttpMethod.Delete, "/crm/customers/twice", token), "approval_pending"))
            .GetProperty("approval_id").GetString()!;

        // Approved on the second replica: the record lives in Redis, not in either process.
        await JsonAsync(await ApproveAsync(second, id));
        var retries = await Task.WhenAll(Enumerable.Range(0, 20)
            .Select(i => CallAsync(i % 2 == 0 ? Gateway : second, HttpMethod.Delete, "/crm/customers/twice", token, approvalId: id)));

        Assert.Single(retries, r => r.StatusCode == HttpStatusCode.OK);
        foreach (var refused in retries.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            await ApprovalRequiredAsync(refused, "approval_used");
        }

        Assert.Equal(1, Forwarded("twice"));
    }
}
