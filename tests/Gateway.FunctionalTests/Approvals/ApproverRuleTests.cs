using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Gateway.FunctionalTests.Approvals.ApprovalHarness;

namespace Gateway.FunctionalTests.Approvals;

/// <summary>Who may approve (groups, self-approval, step-up), expiry on a fake clock, and the body limit.</summary>
public sealed class ApproverRuleTests : IAsyncLifetime
{
    private readonly TestIssuer _issuer = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private UpstreamServer _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        _gateway = await TestGateway.StartAsync(_issuer, _upstream, RenderPolicy(), time: _time);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _issuer.Dispose();
    }

    private async Task<(string Token, string Id)> RequestAsync(string path, string sub = "user:alice")
    {
        var token = AgentToken(_issuer, sub: sub);
        var problem = await ApprovalRequiredAsync(await CallAsync(_gateway, HttpMethod.Post, path, token, "{}"), "approval_pending");
        return (token, problem.GetProperty("approval_id").GetString()!);
    }

    private static async Task<string> RefusedAsync(HttpResponseMessage response, int status, string error)
    {
        var json = await JsonAsync(response, status);
        Assert.Equal(error, json.GetProperty("error").GetString());
        return json.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task Expiry_ApprovalUnusedWithinTtl_IsRefused_AndCannotBeDecidedOnceExpired()
    {
        var (token, id) = await RequestAsync("/finance/payments/late");
        var (_, unapproved) = await RequestAsync("/finance/payments/never");
        await JsonAsync(await ApproveAsync(_gateway, id, FinanceKey));

        _time.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1));
        var retry = await CallAsync(_gateway, HttpMethod.Post, "/finance/payments/late", token, "{}", id);
        var approveLate = await ApproveAsync(_gateway, unapproved, FinanceKey);
        var view = await JsonAsync(await AdminAsync(_gateway, HttpMethod.Get, $"/approvals/{unapproved}"));

        await ApprovalRequiredAsync(retry, "approval_expired");
        await RefusedAsync(approveLate, 409, "approval_expired");
        Assert.Equal("expired", view.GetProperty("status").GetString());
        Assert.Equal(0, view.GetProperty("expires_in").GetInt32());
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Group_OnlyItsAdminKeysMayApprove_ButAnyAdminMayDeny()
    {
        var (token, id) = await RequestAsync("/finance/payments/f1");
        var (_, other) = await RequestAsync("/finance/payments/f2");

        var byOtherAdmin = await ApproveAsync(_gateway, id);
        var byFinance = await ApproveAsync(_gateway, id, FinanceKey);
        var deniedByOtherAdmin = await AdminAsync(_gateway, HttpMethod.Post, $"/approvals/{other}/deny", body: new { reason = "not today" });
        var retry = await CallAsync(_gateway, HttpMethod.Post, "/finance/payments/f1", token, "{}", id);

        Assert.Contains("group 'finance'", await RefusedAsync(byOtherAdmin, 403, "approver_not_allowed"), StringComparison.Ordinal);
        var approved = await JsonAsync(byFinance);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Convert.FromHexString(Sha256Hex(FinanceKey))))[..12], approved.GetProperty("decided_by").GetString());
        Assert.Equal("denied", (await JsonAsync(deniedByOtherAdmin)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
    }

    [Fact]
    public async Task SelfApprovalForbidden_TheRequesterCannotApprove_AnotherPersonCan()
    {
        var (token, id) = await RequestAsync("/guarded/g1", sub: "user:alice");

        var anonymous = await ApproveAsync(_gateway, id);
        var self = await ApproveAsync(_gateway, id, approverToken: ApproverToken(_issuer, "user:alice"));
        var agentsOwnToken = await ApproveAsync(_gateway, id, approverToken: token);
        var other = await ApproveAsync(_gateway, id, approverToken: ApproverToken(_issuer, "user:bob"));
        var retry = await CallAsync(_gateway, HttpMethod.Post, "/guarded/g1", token, "{}", id);

        Assert.Contains("Approver-Token", await RefusedAsync(anonymous, 403, "approver_not_allowed"), StringComparison.Ordinal);
        Assert.Contains("your own call", await RefusedAsync(self, 403, "approver_not_allowed"), StringComparison.Ordinal);
        Assert.Contains("gateway.approvals:approve", await RefusedAsync(agentsOwnToken, 403, "approver_token_invalid"), StringComparison.Ordinal);
        Assert.Equal("user:bob", (await JsonAsync(other)).GetProperty("decided_by_subject").GetString());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
    }

    [Fact]
    public async Task StepUp_ApproverMustPresentAFreshTokenWithTheRightAcr()
    {
        var (token, id) = await RequestAsync("/stepup/s1");
        var now = _time.GetUtcNow();

        var none = await ApproveAsync(_gateway, id);
        var wrongAcr = await ApproveAsync(_gateway, id, approverToken: ApproverToken(_issuer, "user:bob", "urn:test:password", now));
        var stale = await ApproveAsync(_gateway, id, approverToken: ApproverToken(_issuer, "user:bob", "urn:test:mfa", now - TimeSpan.FromMinutes(10)));
        var fresh = await ApproveAsync(_gateway, id, approverToken: ApproverToken(_issuer, "user:bob", "urn:test:mfa", now - TimeSpan.FromMinutes(1)));
        var retry = await CallAsync(_gateway, HttpMethod.Post, "/stepup/s1", token, "{}", id);

        Assert.Contains("urn:test:mfa", await RefusedAsync(none, 403, "approver_step_up_required"), StringComparison.Ordinal);
        Assert.Contains("acr", await RefusedAsync(wrongAcr, 403, "approver_step_up_required"), StringComparison.Ordinal);
        Assert.Contains("300 seconds", await RefusedAsync(stale, 403, "approver_step_up_required"), StringComparison.Ordinal);
        Assert.Equal("approved", (await JsonAsync(fresh)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
    }

    [Fact]
    public async Task Body_LargerThanTheLimit_IsRefusedWith413()
    {
        var token = AgentToken(_issuer);

        var response = await CallAsync(_gateway, HttpMethod.Post, "/payments/big/refunds", token, "{\"pad\":\"" + new string('x', 5000) + "\"}");

        var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/payments/big/refunds") { Content = new ChunkedContent(new byte[10_000]) };
        chunkedRequest.Headers.Authorization = new("Bearer", token);
        var chunked = await _gateway.Client.SendAsync(chunkedRequest);

        var problem = await ProblemAssert.IsProblemAsync(response, 413, "content_too_large");
        Assert.Contains("4096", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(chunked, 413, "content_too_large");
        var list = await JsonAsync(await AdminAsync(_gateway, HttpMethod.Get, "/approvals"));
        Assert.Empty(list.GetProperty("approvals").EnumerateArray());
    }

    /// <summary>A body sent without Content-Length (chunked), so the limit is found by reading.</summary>
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
