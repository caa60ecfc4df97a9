using Gateway.Audit;
using Gateway.Policy;

namespace Gateway.Tests.Audit;

internal static class AuditTestData
{
    public static readonly DateTimeOffset Time = new(2026, 3, 1, 10, 0, 0, 123, TimeSpan.Zero);

    public static AuditEvent Allowed(int i = 1) => new()
    {
        EventId = Guid.CreateVersion7(Time.AddMilliseconds(i)).ToString("N"),
        Time = Time.AddMilliseconds(i),
        Decision = AuditDecision.Allow,
        Route = "crm-get-customer",
        Action = "crm.customers:read",
        Resource = $"crm:customer/{i}",
        Tier = "low",
        Risk = 1,
        Token = new AuditToken
        {
            Jti = "jti-" + i,
            Issuer = "https://idp.example",
            Subject = "alice@example.com",
            Agent = "agent:B",
            Chain = ["jti-parent"],
            Intent = IntentMethod.Explicit,
        },
        Request = new AuditRequest { Method = "GET", Path = $"/crm/customers/{i}", BodySha256 = null },
        Outcome = new AuditOutcome { Status = 200, Bytes = 11, BodySha256 = new string('9', 64), DurationMs = 3, Complete = true },
        Links = new AuditLinks
        {
            PromptSha256 = new string('7', 64),
            ConversationId = "conv_" + i,
            Grant = 0,
            IntentEvidence = "sha256:" + new string('6', 64),
            Claimed = [AuditLinks.ConversationIdName, AuditLinks.PromptSha256Name],
        },
        Status = 200,
        Budget = new AuditBudget { StepsLeft = 49, RiskLeft = 99 },
        PolicySha256 = new string('a', 64),
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = "00f067aa0ba902b7",
    };

    public static AuditEvent Refused(int i = 1) => Allowed(i) with
    {
        Decision = AuditDecision.Deny,
        Error = "insufficient_scope",
        Route = "crm-delete-customer",
        Action = "crm.customers:delete",
        Tier = "critical",
        Risk = 50,
        Request = new AuditRequest { Method = "DELETE", Path = $"/crm/customers/{i}", BodySha256 = new string('b', 64) },
        Outcome = null,
        Links = new AuditLinks { Malformed = [AuditLinks.PromptSha256Name] },
        Status = 403,
        Budget = null,
    };
}
