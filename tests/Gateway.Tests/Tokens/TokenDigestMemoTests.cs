using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class TokenDigestMemoTests
{
    [Fact]
    public void TryGet_SameStringAndSlice_ReturnsTheRememberedDigest()
    {
        var memo = new TokenDigestMemo();
        var header = "Bearer " + new string('a', 40);
        var token = header.AsMemory(7);
        Assert.True(TokenDigest.TryCompute(token.Span, out var digest));

        Assert.False(memo.TryGet(token, out _));
        memo.Remember(token, digest);

        Assert.True(memo.TryGet(header.AsMemory(7), out var remembered));
        Assert.Equal(digest, remembered);
    }

    [Fact]
    public void TryGet_EqualTextInAnotherString_MissesAndIsHashedAfresh()
    {
        // Keyed by identity: equal text in a new string is a miss (and so can never be a wrong hit).
        var memo = new TokenDigestMemo();
        var first = new string('a', 40);
        Assert.True(TokenDigest.TryCompute(first, out var digest));
        memo.Remember(first.AsMemory(), digest);

        Assert.False(memo.TryGet(new string('a', 40).AsMemory(), out _));
    }

    [Fact]
    public void TryGet_OtherSliceOfTheSameString_Misses()
    {
        var memo = new TokenDigestMemo();
        var header = "Bearer aaaa.bbbb.cccc";
        Assert.True(TokenDigest.TryCompute(header.AsSpan(7), out var digest));
        memo.Remember(header.AsMemory(7), digest);

        Assert.False(memo.TryGet(header.AsMemory(8), out _));
        Assert.False(memo.TryGet(header.AsMemory(7, 4), out _));
    }

    [Fact]
    public void Remember_TokenNotBackedByAString_IsNotRemembered()
    {
        var memo = new TokenDigestMemo();
        var token = new ReadOnlyMemory<char>("aaaa.bbbb.cccc".ToCharArray());
        Assert.True(TokenDigest.TryCompute(token.Span, out var digest));

        memo.Remember(token, digest);

        Assert.False(memo.TryGet(token, out _));
    }
}
