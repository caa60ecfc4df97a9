using Gateway.Revocation;
using static Gateway.Tests.Revocation.RevocationTestData;

namespace Gateway.Tests.Revocation;

public sealed class RevocationRuleTests
{
    private static RevocationRequest Request(RevocationKind kind = RevocationKind.Agent, string value = "agent:planner", DateTimeOffset? issuedBefore = null, string reason = "INC-1234 compromised runtime") =>
        new() { Kind = kind, Value = value, IssuedBefore = issuedBefore, Reason = reason };

    [Fact]
    public void TryCreate_ValidRequest_MakesARuleWithIdTimesAndTrimmedReason()
    {
        Assert.True(RevocationRule.TryCreate(Request(reason: "  INC-1234  "), Settings, Now, out var rule, out var problem), problem);

        Assert.StartsWith("rev_", rule.Id, StringComparison.Ordinal);
        Assert.True(RevocationRule.IsValidId(rule.Id));
        Assert.Equal(RevocationKind.Agent, rule.Kind);
        Assert.Equal("agent:planner", rule.Value);
        Assert.Equal("INC-1234", rule.Reason);
        Assert.Equal(Now, rule.CreatedAt);
        Assert.Null(rule.IssuedBefore);
    }

    [Fact]
    public void TryCreate_TwoRules_GetDifferentIds()
    {
        RevocationRule.TryCreate(Request(), Settings, Now, out var first, out _);
        RevocationRule.TryCreate(Request(), Settings, Now, out var second, out _);

        Assert.NotEqual(first!.Id, second!.Id);
    }

    [Fact]
    public void TryCreate_NoCutOff_ExpiresWhenEveryTokenThatExistedHasExpired()
    {
        RevocationRule.TryCreate(Request(), Settings, Now, out var rule, out _);

        // A token issued with iat = now + skew (an issuer clock ahead) lives until iat + 1h, accepted for a skew more.
        Assert.Equal(Now + TimeSpan.FromSeconds(30) + TimeSpan.FromHours(1) + TimeSpan.FromSeconds(30), rule!.ExpiresAt);
    }

    [Fact]
    public void TryCreate_CutOffInThePast_ExpiresALifetimeAndASkewAfterTheCutOff()
    {
        var cutOff = Now.AddMinutes(-20);

        RevocationRule.TryCreate(Request(issuedBefore: cutOff), Settings, Now, out var rule, out _);

        Assert.Equal(cutOff + TimeSpan.FromHours(1) + TimeSpan.FromSeconds(30), rule!.ExpiresAt);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("   ", "must not be empty")]
    [InlineData(" agent:planner", "white space")]
    [InlineData("agent:\nplanner", "control characters")]
    public void TryCreate_BadValue_Refused(string value, string fragment)
    {
        Assert.False(RevocationRule.TryCreate(Request(value: value), Settings, Now, out var rule, out var problem));

        Assert.Null(rule);
        Assert.Contains("'agent'", problem, StringComparison.Ordinal);
        Assert.Contains(fragment, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_ValueLongerThanAnyTokenCanCarry_Refused()
    {
        Assert.False(RevocationRule.TryCreate(Request(kind: RevocationKind.Jti, value: new string('j', 1025)), Settings, Now, out _, out var problem));

        Assert.Contains("'jti' is longer than 1024", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "must say why")]
    [InlineData("  ", "must say why")]
    [InlineData("line one\nline two", "control characters")]
    public void TryCreate_BadReason_Refused(string reason, string fragment)
    {
        Assert.False(RevocationRule.TryCreate(Request(reason: reason), Settings, Now, out _, out var problem));

        Assert.Contains(fragment, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_ReasonAtTheLimit_AcceptedAndOneMore_Refused()
    {
        Assert.True(RevocationRule.TryCreate(Request(reason: new string('r', RevocationRule.MaxReasonLength)), Settings, Now, out _, out _));
        Assert.False(RevocationRule.TryCreate(Request(reason: new string('r', RevocationRule.MaxReasonLength + 1)), Settings, Now, out _, out var problem));
        Assert.Contains("longer than 500", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_CutOffWithinTheSkewAhead_Accepted()
    {
        Assert.True(RevocationRule.TryCreate(Request(issuedBefore: Now.AddSeconds(30)), Settings, Now, out _, out var problem), problem);
    }

    [Fact]
    public void TryCreate_CutOffInTheFuture_Refused()
    {
        Assert.False(RevocationRule.TryCreate(Request(issuedBefore: Now.AddSeconds(31)), Settings, Now, out _, out var problem));

        Assert.Contains("'issued_before' is in the future", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_CutOffSoOldThatNothingIsLeftToRevoke_Refused()
    {
        var cutOff = Now - TimeSpan.FromHours(1) - TimeSpan.FromSeconds(30);

        Assert.False(RevocationRule.TryCreate(Request(issuedBefore: cutOff), Settings, Now, out _, out var problem));

        Assert.Contains("already expired", problem, StringComparison.Ordinal);
        Assert.True(RevocationRule.TryCreate(Request(issuedBefore: cutOff.AddSeconds(1)), Settings, Now, out _, out _));
    }

    [Fact]
    public void CoversIssuedAt_CutOff_IsStrictlyBefore()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner", issuedBefore: Now.AddMinutes(-10));

        Assert.True(rule.CoversIssuedAt(Now.AddMinutes(-10).AddSeconds(-1)));
        Assert.False(rule.CoversIssuedAt(Now.AddMinutes(-10)));
        Assert.False(rule.CoversIssuedAt(Now));
    }

    [Fact]
    public void CoversIssuedAt_NoCutOff_CoversEveryIssueTime()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");

        Assert.True(rule.CoversIssuedAt(DateTimeOffset.UnixEpoch));
        Assert.True(rule.CoversIssuedAt(Now.AddMinutes(30)));
    }

    [Theory]
    [InlineData("rev_abc-DEF_123", true)]
    [InlineData("", false)]
    [InlineData("rev abc", false)]
    [InlineData("rev_{x}", false)]
    [InlineData("rev:1", false)]
    public void IsValidId_OnlyKeySafeCharacters(string id, bool valid)
    {
        Assert.Equal(valid, RevocationRule.IsValidId(id));
    }
}
