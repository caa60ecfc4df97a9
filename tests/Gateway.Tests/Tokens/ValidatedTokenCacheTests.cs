using System.Diagnostics;
using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class ValidatedTokenCacheTests
{
    [Fact]
    public async Task ValidateAsync_SameTokenTwice_ReturnsTheCachedToken()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);

        var first = await gateway.ValidateAsync(token);
        var second = await gateway.ValidateAsync(token);

        Assert.True(first.IsValid);
        Assert.Same(first, second);
        Assert.Same(first.Token, second.Token);
        Assert.Equal(1, gateway.Validator.CachedCount);
    }

    [Fact]
    public async Task ValidateAsync_TokenAsSliceOfHeader_SameResultAsTheStringAndCached()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);
        var header = "Bearer " + token + " ";

        var fromSlice = await gateway.Validator.ValidateAsync(header.AsMemory(7, token.Length), CancellationToken.None);
        var fromString = await gateway.ValidateAsync(token);

        Assert.True(fromSlice.IsValid, fromSlice.Failure?.ToString());
        Assert.Same(fromSlice, fromString);
        Assert.Equal(1, gateway.Validator.CachedCount);
    }

    [Fact]
    public async Task ValidateAsync_EmptySlice_RefusedAsEmpty()
    {
        var gateway = new TestGateway(new TestIssuer());

        var result = await gateway.Validator.ValidateAsync(ReadOnlyMemory<char>.Empty, CancellationToken.None);

        Assert.False(result.IsValid);
        Assert.Same(TokenFailures.Empty, result.Failure);
    }

    [Fact]
    public async Task ValidateAsync_CachedTokenPastExp_ValidatedAgainAndRefusedAfterSkew()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);
        var first = await gateway.ValidateAsync(token);

        // At exp the cache entry is gone: the token is checked afresh, and is still inside the clock skew.
        gateway.Time.Advance(TimeSpan.FromMinutes(10));
        var atExp = await gateway.ValidateAsync(token);
        Assert.True(atExp.IsValid);
        Assert.NotSame(first, atExp);

        gateway.Time.Advance(TimeSpan.FromSeconds(30));
        await gateway.AssertRefusedAsync(token, TokenFailureReasons.Expired);
    }

    [Fact]
    public async Task ValidateAsync_InvalidToken_NotCached()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c["aud"] = "https://other.test"), TokenFailureReasons.WrongAudience);
        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, header: h => h["kid"] = "nope"), TokenFailureReasons.UnknownKey);

        Assert.Equal(0, gateway.Validator.CachedCount);
    }

    [Fact]
    public async Task ValidateAsync_MoreTokensThanCapacity_CacheStaysBounded()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway([issuer.Settings()], [issuer], new TokenValidatorOptions { CacheSize = 10 });

        for (var i = 0; i < 50; i++)
        {
            await gateway.AssertValidAsync(issuer.Mint(gateway.Now));
            Assert.InRange(gateway.Validator.CachedCount, 1, 10);
        }
    }

    [Fact]
    public async Task ValidateAsync_CacheDisabled_EveryCallValidates()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway([issuer.Settings()], [issuer], new TokenValidatorOptions { CacheSize = 0 });
        var token = issuer.Mint(gateway.Now);

        var first = await gateway.ValidateAsync(token);
        var second = await gateway.ValidateAsync(token);

        Assert.True(second.IsValid);
        Assert.NotSame(first, second);
        Assert.Equal(0, gateway.Validator.CachedCount);
    }

    [Fact]
    public async Task ValidateAsync_CacheHit_CompletesSynchronouslyWithoutAllocating()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var token = issuer.Mint(gateway.Now);
        await gateway.AssertValidAsync(token);

        const int Calls = 1000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Calls; i++)
        {
            var pending = gateway.Validator.ValidateAsync(token, CancellationToken.None);
            Assert.True(pending.IsCompletedSuccessfully);
        }

        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Calls;
        Assert.True(perCall < 8, $"{perCall} bytes allocated per cache hit");
    }

    [Fact]
    public void TokenDigest_DifferentTokens_Differ()
    {
        Assert.True(TokenDigest.TryCompute("a.b.c", out var a));
        Assert.True(TokenDigest.TryCompute("a.b.c", out var same));
        Assert.True(TokenDigest.TryCompute("a.b.d", out var other));
        Assert.True(TokenDigest.TryCompute(new string('x', 10_000), out _));
        Assert.False(TokenDigest.TryCompute("a.b.\u00e9", out _));

        Assert.Equal(a, same);
        Assert.NotEqual(a, other);
        Debug.Assert(a.GetHashCode() == same.GetHashCode(), "equal digests hash alike");
    }
}
