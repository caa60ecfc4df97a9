using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Audit;

namespace Gateway.Tests.Audit;

public sealed class AuditEventSerializerTests
{
    private static readonly string[] ContractMembers =
    [
        "event_id", "time", "decision", "error", "route", "action", "resource", "tier", "risk", "token",
        "request", "status", "budget", "policy_sha256", "trace_id", "span_id", "prev_hash", "hash",
    ];

    public static TheoryData<string> Events => new() { "allowed", "refused", "admin", "awkward strings" };

    [Theory]
    [MemberData(nameof(Events))]
    public void ToCanonicalJson_AnyEvent_IsItsOwnRfc8785CanonicalForm(string which)
    {
        var line = AuditEventSerializer.ToCanonicalJson(Sample(which) with { Replica = "r1", Seq = 7, PrevHash = new string('c', 64), Hash = new string('d', 64) });

        Assert.Equal(Convert.ToHexString(JsonCanonicalizer.Canonicalize(line)), Convert.ToHexString(line));
    }

    [Fact]
    public void ToCanonicalJson_AdminEvent_WritesEveryMemberWithNullsWhereAbsent()
    {
        using var json = JsonDocument.Parse(AuditEventSerializer.ToCanonicalJson(Sample("admin")));
        var root = json.RootElement;

        foreach (var member in ContractMembers.Concat(["replica", "seq", "admin", "upstream_credential", "reason", "outcome", "links"]))
        {
            Assert.True(root.TryGetProperty(member, out _), $"member {member} is missing");
        }

        Assert.Equal(25, root.EnumerateObject().Count());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("outcome").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("links").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("upstream_credential").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("token").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("route").ValueKind);
        Assert.Equal("admin", root.GetProperty("decision").GetString());
        Assert.Equal("revocation.create", root.GetProperty("admin").GetProperty("action").GetString());
    }

    [Fact]
    public void ToCanonicalJson_OneTokenMemberInManyEvents_WritesEachEventsTokenAsItsOwn()
    {
        // The token member's text is kept with the AuditToken instance and copied into later events: the
        // copy must be what writing it again would give, and a changed token (a new instance) its own text.
        var token = AuditTestData.Allowed(1).Token! with { Grants = [new AuditGrant(["crm.customers:read"], ["crm:customer/42"])] };
        var first = AuditTestData.Allowed(1) with { Token = token };
        var again = AuditTestData.Refused(2) with { Token = token };
        var other = AuditTestData.Allowed(3) with { Token = token with { Jti = "jti-\"other\"\n", Grants = [new AuditGrant(["crm.notes:write"], ["crm:note/*"])] } };

        foreach (var sample in new[] { first, again, other, again })
        {
            var line = AuditEventSerializer.ToCanonicalJson(sample);
            Assert.Equal(Convert.ToHexString(JsonCanonicalizer.Canonicalize(line)), Convert.ToHexString(line));
            Assert.Equal(sample.Token!.Jti, AuditEventSerializer.Parse(line).Token!.Jti);
            Assert.Equal(sample.Token.Grants[0].Actions, AuditEventSerializer.Parse(line).Token!.Grants[0].Actions);
        }
    }

    [Fact]
    public void UpstreamCredential_IsCanonical_AndReadsBack()
    {
        var sample = AuditTestData.Allowed(1) with { UpstreamCredential = new AuditCredential { Kind = "oauth2_client_credentials", Id = "gateway-prod" } };
        var line = AuditEventSerializer.ToCanonicalJson(sample);

        Assert.Equal(Convert.ToHexString(JsonCanonicalizer.Canonicalize(line)), Convert.ToHexString(line));
        Assert.Equal(sample.UpstreamCredential, AuditEventSerializer.Parse(line).UpstreamCredential);
    }

    [Fact]
    public void ToCanonicalJson_AllowedEvent_WritesContractShapes()
    {
        using var json = JsonDocument.Parse(AuditEventSerializer.ToCanonicalJson(AuditTestData.Allowed(1)));
        var root = json.RootElement;

        Assert.Equal("2026-03-01T10:00:00.124Z", root.GetProperty("time").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("admin").ValueKind);
        var token = root.GetProperty("token");
        // The contract's six members, and what replay and the usage report need (docs/audit.md): claims, never the token.
        Assert.Equal(["acr", "agent", "auth_time", "chain", "exp", "grants", "iat", "intent", "iss", "jti", "sub"], token.EnumerateObject().Select(p => p.Name));
        Assert.Equal("explicit", token.GetProperty("intent").GetString());
        Assert.Equal(["body_sha256", "method", "path"], root.GetProperty("request").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["risk_left", "steps_left"], root.GetProperty("budget").EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, root.GetProperty("risk").GetInt32());
        var outcome = root.GetProperty("outcome");
        Assert.Equal(["body_sha256", "bytes", "complete", "duration_ms", "error", "status"], outcome.EnumerateObject().Select(p => p.Name));
        Assert.Equal(200, outcome.GetProperty("status").GetInt32());
        Assert.Equal(11, outcome.GetProperty("bytes").GetInt64());
        Assert.True(outcome.GetProperty("complete").GetBoolean());
        var links = root.GetProperty("links");
        Assert.Equal(["claimed", "conversation_id", "grant", "intent_evidence", "malformed", "prompt_sha256"], links.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0, links.GetProperty("grant").GetInt32());
        Assert.Equal(["conversation_id", "prompt_sha256"], links.GetProperty("claimed").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(links.GetProperty("malformed").EnumerateArray());
    }

    [Fact]
    public void Parse_OutcomeAndLinks_RoundTrip()
    {
        var cutOff = AuditTestData.Allowed(4) with
        {
            Outcome = new AuditOutcome { Status = 200, Bytes = 1_048_576, BodySha256 = new string('8', 64), DurationMs = 1200, Complete = false, Error = "response_body_client" },
        };

        foreach (var original in new[] { cutOff, AuditTestData.Refused(5) })
        {
            var parsed = AuditEventSerializer.Parse(AuditEventSerializer.ToCanonicalJson(original));

            Assert.Equal(original.Outcome, parsed.Outcome);
            Assert.Equal(original.Links! with { Claimed = [], Malformed = [] }, parsed.Links! with { Claimed = [], Malformed = [] });
            Assert.Equal(original.Links.Claimed, parsed.Links.Claimed);
            Assert.Equal(original.Links.Malformed, parsed.Links.Malformed);
        }
    }

    [Fact]
    public void Parse_ReplayMembers_RoundTripGrantsClaimTimesAndReason()
    {
        var time = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
        var original = AuditTestData.Allowed(1) with
        {
            Reason = "step_up",
            Token = AuditTestData.Allowed(1).Token! with
            {
                Grants = [new AuditGrant(["crm.customers:read", "crm.notes:*"], ["crm:customer/*"]), new AuditGrant(["payments.payments:read"], ["payments:payment/p-1"])],
                Acr = "urn:example:mfa",
                AuthTime = time.AddMinutes(-3),
                IssuedAt = time.AddMinutes(-1),
                Expires = time.AddMinutes(9),
            },
        };

        var parsed = AuditEventSerializer.Parse(AuditEventSerializer.ToCanonicalJson(original));

        Assert.Equal("step_up", parsed.Reason);
        var token = parsed.Token!;
        Assert.Equal(2, token.Grants.Count);
        Assert.Equal(["crm.customers:read", "crm.notes:*"], token.Grants[0].Actions);
        Assert.Equal(["payments:payment/p-1"], token.Grants[1].Resources);
        Assert.Equal("urn:example:mfa", token.Acr);
        Assert.Equal(time.AddMinutes(-3), token.AuthTime);
        Assert.Equal(time.AddMinutes(-1), token.IssuedAt);
        Assert.Equal(time.AddMinutes(9), token.Expires);
    }

    [Fact]
    public void FormatTime_NonUtcOffsetAndSubMillisecond_WritesUtcWithThreeDigits()
    {
        var time = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.FromHours(2)).AddTicks(5);

        Assert.Equal("2026-03-01T10:00:00.000Z", AuditEventSerializer.FormatTime(time));
    }

    [Fact]
    public void Parse_CanonicalLine_RoundTripsEveryMember()
    {
        var original = AuditTestData.Allowed(3) with { Replica = "r1", Seq = 12, PrevHash = new string('e', 64), Hash = new string('f', 64) };

        var parsed = AuditEventSerializer.Parse(AuditEventSerializer.ToCanonicalJson(original));

        Assert.Equal(original with { Token = null, Links = null }, parsed with { Token = null, Links = null });
        Assert.Equal(original.Links!.Claimed, parsed.Links!.Claimed);
        Assert.Equal(original.Token!.Chain, parsed.Token!.Chain);
        Assert.Equal(original.Token.Grants.Select(g => (string.Join(' ', g.Actions), string.Join(' ', g.Resources))), parsed.Token.Grants.Select(g => (string.Join(' ', g.Actions), string.Join(' ', g.Resources))));
        Assert.Equal(original.Token with { Chain = [], Grants = [] }, parsed.Token with { Chain = [], Grants = [] });
    }

    [Fact]
    public void WriteWithoutHash_HashRule_IsSha256OfPrevHashThenCanonicalJsonWithoutHash()
    {
        var prev = AuditChain.GenesisHash;
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        AuditEventSerializer.WriteWithoutHash(AuditTestData.Refused(), "r1", 1, prev, body);

        var expected = Convert.ToHexStringLower(SHA256.HashData([.. Encoding.UTF8.GetBytes(prev), .. body.WrittenSpan]));

        Assert.Equal(expected, AuditChain.ComputeHash(prev, body.WrittenSpan));
        Assert.DoesNotContain("\"hash\"", Encoding.UTF8.GetString(body.WrittenSpan), StringComparison.Ordinal);
        Assert.Equal(64, AuditChain.GenesisHash.Length);
        Assert.All(AuditChain.GenesisHash, c => Assert.Equal('0', c));
    }

    [Fact]
    public void ToCanonicalJson_LoneSurrogate_IsWrittenAsReplacementCharacterAndStillVerifies()
    {
        var auditEvent = AuditTestData.Allowed() with { Resource = "crm:customer/\ud800x" };
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        var offset = AuditEventSerializer.WriteWithoutHash(auditEvent, "r1", 1, AuditChain.GenesisHash, body);
        var hash = AuditChain.ComputeHash(AuditChain.GenesisHash, body.WrittenSpan);
        var line = Encoding.UTF8.GetString(AuditEventSerializer.ToCanonicalJson(auditEvent with { Replica = "r1", Seq = 1, Hash = hash }));

        Assert.True(offset > 0);
        Assert.Contains("crm:customer/\ufffdx", line, StringComparison.Ordinal);
        Assert.True(AuditVerifier.VerifyLines([line]).IsValid);
    }

    private static AuditEvent Sample(string which) => which switch
    {
        "allowed" => AuditTestData.Allowed(),
        "refused" => AuditTestData.Refused(),
        "admin" => new AuditEvent
        {
            EventId = "0196f0a0b1c2d3e4f5a6b7c8d9e0f1a2",
            Time = AuditTestData.Time,
            Decision = AuditDecision.Admin,
            Request = new AuditRequest { Method = "POST", Path = "/revocations" },
            Status = 201,
            Admin = new AuditAdmin { Action = "revocation.create", Target = "jti:abc", KeyId = "0123456789ab" },
        },
        _ => AuditTestData.Allowed() with
        {
            Resource = "crm:customer/\"quoted\"\\back\u0001\u001f\u007f\u2028é€😀",
            Route = "\r\n\t\b\f",
            Token = AuditTestData.Allowed().Token! with { Subject = "Zoë <zoe@example.com> & co/+", Chain = ["a", "", "\u0000"] },
        },
    };
}
