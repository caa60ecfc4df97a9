using Gateway.Revocation;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Tests.Revocation.RevocationTestData;

namespace Gateway.Tests.Revocation;

public sealed class RevocationIndexTests
{
    private readonly FakeTimeProvider _time = new(Now);
    private readonly RevocationIndex _index;

    public RevocationIndexTests()
    {
        _index = new RevocationIndex(_time);
    }

    [Fact]
    public void Match_EmptyIndex_Null()
    {
        Assert.Null(_index.Match(Token()));
    }

    [Fact]
    public void Match_RevokedJti_MatchesThatTokenOnly()
    {
        var rule = Rule(RevocationKind.Jti, "jti-child");
        _index.Add(rule);

        var match = _index.Match(Token(jti: "jti-child"));

        Assert.Equal(new RevocationMatch(rule, RevokedClaim.Jti), match);
        Assert.Null(_index.Match(Token(jti: "jti-other")));
    }

    [Fact]
    public void Match_RevokedAncestor_CutsOffEveryDescendant()
    {
        var rule = Rule(RevocationKind.Jti, "jti-root");
        _index.Add(rule);

        var child = _index.Match(Token(jti: "jti-child", chain: ["jti-root"], actors: ["agent:b", "agent:a"]));
        var grandchild = _index.Match(Token(jti: "jti-grandchild", chain: ["jti-child", "jti-root"], actors: ["agent:c", "agent:b", "agent:a"]));

        Assert.Equal(RevokedClaim.Chain, child?.Claim);
        Assert.Equal(RevokedClaim.Chain, grandchild?.Claim);
        Assert.Same(rule, grandchild!.Rule);
        Assert.Null(_index.Match(Token(jti: "jti-sibling", chain: ["jti-other-root"])));
    }

    [Fact]
    public void Match_RevokedChild_LeavesItsParentAlone()
    {
        _index.Add(Rule(RevocationKind.Jti, "jti-child"));

        Assert.Null(_index.Match(Token(jti: "jti-root")));
    }

    [Fact]
    public void Match_RevokedCallingAgent_Agent()
    {
        _index.Add(Rule(RevocationKind.Agent, "agent:b"));

        Assert.Equal(RevokedClaim.Agent, _index.Match(Token(actors: ["agent:b", "agent:a"]))?.Claim);
    }

    [Fact]
    public void Match_RevokedEarlierHop_Actor()
    {
        _index.Add(Rule(RevocationKind.Agent, "agent:a"));

        Assert.Equal(RevokedClaim.Actor, _index.Match(Token(actors: ["agent:c", "agent:b", "agent:a"]))?.Claim);
        Assert.Null(_index.Match(Token(actors: ["agent:c", "agent:b"])));
    }

    [Fact]
    public void Match_RevokedSubject_Subject()
    {
        _index.Add(Rule(RevocationKind.Subject, "user:alice"));

        Assert.Equal(RevokedClaim.Subject, _index.Match(Token(subject: "user:alice"))?.Claim);
        Assert.Null(_index.Match(Token(subject: "user:bob")));
    }

    [Fact]
    public void Match_RevokedClientId_ClientIdAndNeverATokenWithout()
    {
        _index.Add(Rule(RevocationKind.ClientId, "runtime-7"));

        Assert.Equal(RevokedClaim.ClientId, _index.Match(Token(clientId: "runtime-7"))?.Claim);
        Assert.Null(_index.Match(Token(clientId: "runtime-8")));
        Assert.Null(_index.Match(Token(clientId: null)));
    }

    [Fact]
    public void Match_ValuesCompareExactly()
    {
        _index.Add(Rule(RevocationKind.Agent, "agent:Planner"));
        _index.Add(Rule(RevocationKind.Subject, "user:alice"));

        Assert.Null(_index.Match(Token(actors: ["agent:planner"], subject: "User:alice")));
        Assert.Null(_index.Match(Token(subject: "user:alice ")));
    }

    [Fact]
    public void Match_ValueOfAnotherKind_NoMatch()
    {
        // A jti that happens to equal an agent id revokes the token with that jti, not the agent.
        _index.Add(Rule(RevocationKind.Jti, "agent:planner"));

        Assert.Null(_index.Match(Token(actors: ["agent:planner"])));
    }

    [Theory]
    [InlineData(RevocationKind.Jti, "jti-child")]
    [InlineData(RevocationKind.Jti, "jti-root")]
    [InlineData(RevocationKind.Agent, "agent:planner")]
    [InlineData(RevocationKind.Agent, "agent:origin")]
    [InlineData(RevocationKind.Subject, "user:alice")]
    [InlineData(RevocationKind.ClientId, "runtime-7")]
    public void Match_CutOff_TokensIssuedStrictlyBeforeItOnly(RevocationKind kind, string value)
    {
        var cutOff = Now.AddMinutes(-10);
        _index.Add(Rule(kind, value, issuedBefore: cutOff));

        Assert.NotNull(_index.Match(TokenIssuedAt(cutOff.AddSeconds(-1))));
        Assert.Null(_index.Match(TokenIssuedAt(cutOff)));
        Assert.Null(_index.Match(TokenIssuedAt(cutOff.AddSeconds(1))));

        static Gateway.Tokens.CapabilityToken TokenIssuedAt(DateTimeOffset iat) =>
            Token(chain: ["jti-root"], actors: ["agent:planner", "agent:origin"], clientId: "runtime-7", issuedAt: iat);
    }

    [Fact]
    public void Match_CutOffAndBlanketRulesForOneValue_EitherMatches()
    {
        _index.Add(Rule(RevocationKind.Agent, "agent:planner", issuedBefore: Now.AddMinutes(-10)));
        var blanket = Rule(RevocationKind.Agent, "agent:planner");
        _index.Add(blanket);

        Assert.Same(blanket, _index.Match(Token(issuedAt: Now))?.Rule);
    }

    [Fact]
    public void Match_ExpiredRule_IgnoredBeforeItIsRemoved()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");
        _index.Add(rule);

        _time.SetUtcNow(rule.ExpiresAt);

        Assert.Null(_index.Match(Token(issuedAt: Now)));
        Assert.Equal(1, _index.Count);
    }

    [Fact]
    public void RemoveExpired_DropsOnlyExpiredRules()
    {
        var early = Rule(RevocationKind.Agent, "agent:planner", issuedBefore: Now.AddMinutes(-30));
        var late = Rule(RevocationKind.Agent, "agent:planner");
        var other = Rule(RevocationKind.Subject, "user:alice", issuedBefore: Now.AddMinutes(-30));
        _index.Add(early);
        _index.Add(late);
        _index.Add(other);

        Assert.Equal(0, _index.RemoveExpired());
        _time.SetUtcNow(early.ExpiresAt);

        Assert.Equal(2, _index.RemoveExpired());
        Assert.Equal([late], _index.Rules);
        Assert.Same(late, _index.Match(Token(issuedAt: Now))?.Rule);
        Assert.Null(_index.Match(Token(actors: ["agent:x"], subject: "user:alice", issuedAt: Now.AddMinutes(-40))));
    }

    [Fact]
    public void Add_SameIdTwice_KeptOnce()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");

        Assert.True(_index.Add(rule));
        Assert.False(_index.Add(rule with { Value = "agent:other" }));

        Assert.Equal(1, _index.Count);
        Assert.Null(_index.Match(Token(actors: ["agent:other"])));
    }

    [Fact]
    public void Add_AlreadyExpired_Refused()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner", createdAt: Now.AddHours(-2));

        Assert.False(_index.Add(rule));
        Assert.Equal(0, _index.Count);
    }

    [Fact]
    public void ReplaceAll_SwapsTheContentAndReturnsWhatIsNew()
    {
        var kept = Rule(RevocationKind.Agent, "agent:a");
        var dropped = Rule(RevocationKind.Agent, "agent:b");
        var added = Rule(RevocationKind.Agent, "agent:c");
        _index.Add(kept);
        _index.Add(dropped);

        var newRules = _index.ReplaceAll([kept, added, Rule(RevocationKind.Subject, "user:x", createdAt: Now.AddHours(-3))]);

        Assert.Equal([added], newRules);
        Assert.Equal(2, _index.Count);
        Assert.NotNull(_index.Match(Token(actors: ["agent:a"])));
        Assert.Null(_index.Match(Token(actors: ["agent:b"])));
        Assert.NotNull(_index.Match(Token(actors: ["agent:c"])));
    }

    [Fact]
    public void Match_HundredThousandRules_ComparisonsDoNotGrowWithTheRuleCount()
    {
        var comparer = new CountingComparer();
        var index = new RevocationIndex(_time, comparer);
        var token = Token(jti: "jti-live", chain: ["jti-p", "jti-g"], actors: ["agent:c", "agent:b", "agent:a"], clientId: "runtime-7");
        index.Add(Rule(RevocationKind.Jti, "jti-0"));
        index.Add(Rule(RevocationKind.Agent, "agent:0"));
        index.Add(Rule(RevocationKind.Subject, "user:0"));
        index.Add(Rule(RevocationKind.ClientId, "client-0"));
        var few = CountCalls(index, comparer, token);

        var kinds = Enum.GetValues<RevocationKind>();
        var rules = Enumerable.Range(1, 100_000).Select(i => Rule(kinds[i % kinds.Length], $"value-{i}"));
        index.ReplaceAll(rules.Concat(index.Rules));
        Assert.Equal(100_004, index.Count);
        var many = CountCalls(index, comparer, token);

        // One hash and at most a couple of equality checks per value the token carries (jti, 2 ancestors,
        // 3 agents, sub, client_id = 8), whatever the number of rules.
        Assert.Equal(8, few.Hashes);
        Assert.Equal(few.Hashes, many.Hashes);
        Assert.InRange(many.Equalities, 0, 2 * 8);
        Assert.Null(index.Match(token));
    }

    private static (int Hashes, int Equalities) CountCalls(RevocationIndex index, CountingComparer comparer, Gateway.Tokens.CapabilityToken token)
    {
        comparer.Reset();
        Assert.Null(index.Match(token));
        return (comparer.Hashes, comparer.Equalities);
    }

    /// <summary>Ordinal, counting its calls, to see how much work one lookup does.</summary>
    private sealed class CountingComparer : IEqualityComparer<string>
    {
        public int Hashes { get; private set; }

        public int Equalities { get; private set; }

        public void Reset() => Hashes = Equalities = 0;

        public bool Equals(string? x, string? y)
        {
            Equalities++;
            return string.Equals(x, y, StringComparison.Ordinal);
        }

        public int GetHashCode(string obj)
        {
            Hashes++;
            return StringComparer.Ordinal.GetHashCode(obj);
        }
    }
}
