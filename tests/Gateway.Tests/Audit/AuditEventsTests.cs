using System.Diagnostics;
using Gateway.Audit;
using Gateway.Policy;
using Gateway.Tests.Telemetry;

namespace Gateway.Tests.Audit;

public sealed class AuditEventsTests
{
    [Fact]
    public void FromDecision_RefusedDecision_FillsTheContractMembers()
    {
        var decision = GatewayTelemetryTests.Decision();
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();

        var auditEvent = AuditEvents.FromDecision(decision, "GET", "/crm/customers/42", null, 403, "ignored-when-a-route-matched", activity, AuditTestData.Time);

        Assert.Equal("d-1", auditEvent.EventId);
        Assert.Equal(AuditDecision.Deny, auditEvent.Decision);
        Assert.Equal("step_limit_exceeded", auditEvent.Error);
        Assert.Equal(("crm-get-customer", "crm.customers:read", "crm:customer/42", "low", 1), (auditEvent.Route, auditEvent.Action, auditEvent.Resource, auditEvent.Tier, auditEvent.Risk));
        Assert.Equal(("jti-1", "https://idp.example", "alice@example.com", "agent:B"), (auditEvent.Token!.Jti, auditEvent.Token.Issuer, auditEvent.Token.Subject, auditEvent.Token.Agent));
        Assert.Equal(["jti-0"], auditEvent.Token.Chain);
        Assert.Equal(IntentMethod.StepUp, auditEvent.Token.Intent);
        Assert.Equal(new AuditRequest { Method = "GET", Path = "/crm/customers/42" }, auditEvent.Request);
        Assert.Equal(403, auditEvent.Status);
        Assert.Equal(new AuditBudget { StepsLeft = 0, RiskLeft = 90 }, auditEvent.Budget);
        Assert.Equal(new string('a', 64), auditEvent.PolicySha256);
        Assert.Equal(activity.TraceId.ToHexString(), auditEvent.TraceId);
        Assert.Equal(activity.SpanId.ToHexString(), auditEvent.SpanId);
        Assert.Null(auditEvent.Admin);
    }

    [Fact]
    public void ForAdmin_RevocationByKey_RecordsAKeyDigestNeverTheKey()
    {
        const string Key = "correct-horse-battery-staple";

        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Key)));
        var keyId = Gateway.Admin.AdminKeyAuthenticator.KeyIdOf(sha);

        var auditEvent = AuditEvents.ForAdmin("e-1", "revocation.create", "jti:abc", keyId, "POST", "/revocations", 201, null, null, AuditTestData.Time);
        var line = System.Text.Encoding.UTF8.GetString(AuditEventSerializer.ToCanonicalJson(auditEvent));

        Assert.Equal(AuditDecision.Admin, auditEvent.Decision);
        Assert.Equal(keyId, auditEvent.Admin!.KeyId);
        Assert.DoesNotContain(Key, line, StringComparison.Ordinal);
        Assert.DoesNotContain(sha, line, StringComparison.Ordinal);
        Assert.DoesNotContain(sha[..12], line, StringComparison.Ordinal);
    }
}
