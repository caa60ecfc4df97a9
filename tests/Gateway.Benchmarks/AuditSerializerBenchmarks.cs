using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Audit;
using Gateway.Policy;

namespace Gateway.Benchmarks;

/// <summary>
/// One allowed call's audit line in canonical form, as the writer produces it (everything but the
/// chain's hash), with the token member every call of one token shares, as the gateway hands it over,
/// and the outcome and links every forwarded call now carries (a prompt digest and a conversation id sent).
/// </summary>
[MemoryDiagnoser]
public class AuditSerializerBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(2048);
    private readonly string _prevHash = new('c', 64);
    private AuditEvent _event = null!;

    [GlobalSetup]
    public void Setup()
    {
        var token = new AuditToken
        {
            Jti = "01jt8m2k4q7v9x3c5b6n8p0r2s",
            Issuer = "https://idp.example",
            Subject = "user:alice",
            Agent = "agent:planner",
            Intent = IntentMethod.Policy,
            Grants = [new AuditGrant(["crm.customers:read", "crm.customers:update"], ["crm:customer/*"])],
            IssuedAt = DateTimeOffset.UnixEpoch.AddSeconds(1_780_000_000),
            Expires = DateTimeOffset.UnixEpoch.AddSeconds(1_780_000_600),
        };
        _event = new AuditEvent
        {
            EventId = "0193b1e2c4d5e6f708192a3b4c5d6e7f",
            Time = DateTimeOffset.UnixEpoch.AddSeconds(1_780_000_100),
            Decision = AuditDecision.Allow,
            Route = "crm-customer-read",
            Action = "crm.customers:read",
            Resource = "crm:customer/42",
            Tier = "low",
            Risk = 1,
            Token = token,
            Request = new AuditRequest { Method = "GET", Path = "/crm/customers/42" },
            Outcome = new AuditOutcome { Status = 200, Bytes = 1_532, BodySha256 = new string('e', 64), DurationMs = 4, Complete = true },
            Links = new AuditLinks
            {
                PromptSha256 = new string('b', 64),
                ConversationId = "conv_5j66UpCpwteGg4YSxUnt7lPY",
                Grant = 0,
                Claimed = [AuditLinks.ConversationIdName, AuditLinks.PromptSha256Name],
            },
            Status = 200,
            Budget = new AuditBudget { StepsLeft = 49, RiskLeft = 99 },
            PolicySha256 = new string('a', 64),
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            SpanId = "00f067aa0ba902b7",
        };
    }

    [Benchmark]
    public int AllowedEvent_CanonicalLine()
    {
        _output.ResetWrittenCount();
        return AuditEventSerializer.WriteWithoutHash(_event, "replica-1", 12_345, _prevHash, _output);
    }
}
