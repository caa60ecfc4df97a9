using System.Text;
using Gateway.Revocation;
using static Gateway.Tests.Revocation.RevocationTestData;

namespace Gateway.Tests.Revocation;

public sealed class RevocationRuleJsonTests
{
    [Fact]
    public void ToUtf8Bytes_Rule_TheRequestShapePlusIdAndTimes()
    {
        var rule = Rule(RevocationKind.ClientId, "runtime-7", issuedBefore: Now.AddMinutes(-1), id: "rev_1");

        var json = Encoding.UTF8.GetString(RevocationRuleJson.ToUtf8Bytes(rule));

        Assert.Equal(
            """{"id":"rev_1","client_id":"runtime-7","issued_before":"2026-03-01T09:59:00Z","reason":"test","created_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-01T10:59:30Z"}""",
            json);
    }

    [Fact]
    public void TryRead_WhatWasWritten_RoundTripsToAnEqualRule()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner", createdAt: Now.AddTicks(1234567)) with { Reason = "INC-9 \"quoted\" ü" };

        Assert.True(RevocationRuleJson.TryRead(RevocationRuleJson.ToUtf8Bytes(rule), out var read));

        Assert.Equal(rule, read);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"id":"rev_1","agent":"a","reason":"r","created_at":"2026-03-01T10:00:00Z"}""")]
    [InlineData("""{"id":"rev 1","agent":"a","reason":"r","created_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-01T11:00:00Z"}""")]
    [InlineData("""{"id":"rev_1","agent":"a","sub":"b","reason":"r","created_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-01T11:00:00Z"}""")]
    [InlineData("""{"id":"rev_1","agent":"","reason":"r","created_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-01T11:00:00Z"}""")]
    [InlineData("""{"id":"rev_1","agent":"a","reason":"r","created_at":"2026-03-01","expires_at":"2026-03-01T11:00:00Z"}""")]
    [InlineData("""{"id":"rev_1","id":"rev_2","agent":"a","reason":"r","created_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-01T11:00:00Z"}""")]
    public void TryRead_AnythingElse_False(string json)
    {
        Assert.False(RevocationRuleJson.TryRead(Encoding.UTF8.GetBytes(json), out var rule));
        Assert.Null(rule);
    }

    [Fact]
    public void TryRead_UnknownMember_Skipped()
    {
        const string Json = """{"id":"rev_1","agent":"a","reason":"r","created_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-01T11:00:00Z","added_in_v2":{"x":1}}""";

        Assert.True(RevocationRuleJson.TryRead(Encoding.UTF8.GetBytes(Json), out var rule));
        Assert.Equal("a", rule.Value);
    }
}
