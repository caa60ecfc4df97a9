using Gateway.Dpop;

namespace Gateway.FunctionalTests.Dpop;

/// <summary>What every <see cref="IDpopReplayStore"/> must do, run against each implementation.</summary>
public abstract class DpopReplayStoreContractTests
{
    protected const string Thumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    /// <summary>A new store that shares nothing with any other test.</summary>
    protected abstract IDpopReplayStore CreateStore();

    /// <summary>Lets time pass for the store: fake time in memory, real time against Redis.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    protected static string NewJti() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task TryAcceptAsync_FirstUse_IsAcceptedAndTheSecondRefused()
    {
        var store = CreateStore();
        var jti = NewJti();

        var first = await store.TryAcceptAsync(Thumbprint, jti, TimeSpan.FromSeconds(65), CancellationToken.None);
        var second = await store.TryAcceptAsync(Thumbprint, jti, TimeSpan.FromSeconds(65), CancellationToken.None);

        Assert.True(first);
        Assert.False(second);
    }

    [Fact]
    public async Task TryAcceptAsync_FiftyConcurrentUsesOfOneProof_AcceptsExactlyOne()
    {
        var store = CreateStore();
        var jti = NewJti();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Run(() => store.TryAcceptAsync(Thumbprint, jti, TimeSpan.FromSeconds(65), CancellationToken.None).AsTask())));

        Assert.Equal(1, results.Count(accepted => accepted));
    }

    [Fact]
    public async Task TryAcceptAsync_SameJtiOtherKey_IsAccepted()
    {
        var store = CreateStore();
        var jti = NewJti();
        await store.TryAcceptAsync(Thumbprint, jti, TimeSpan.FromSeconds(65), CancellationToken.None);

        Assert.True(await store.TryAcceptAsync("another-thumbprint-0000000000000000000000000", jti, TimeSpan.FromSeconds(65), CancellationToken.None));
        Assert.True(await store.TryAcceptAsync(Thumbprint, NewJti(), TimeSpan.FromSeconds(65), CancellationToken.None));
    }

    [Fact]
    public async Task TryAcceptAsync_AfterTheLifetime_IsForgotten()
    {
        var store = CreateStore();
        var jti = NewJti();
        await store.TryAcceptAsync(Thumbprint, jti, TimeSpan.FromMilliseconds(300), CancellationToken.None);

        await AdvanceAsync(TimeSpan.FromMilliseconds(600));

        Assert.True(await store.TryAcceptAsync(Thumbprint, jti, TimeSpan.FromSeconds(65), CancellationToken.None));
    }

    [Fact]
    public async Task TryAcceptAsync_LongAndUnicodeJtis_AreKeptApart()
    {
        var store = CreateStore();
        var long1 = new string('x', 256);
        var long2 = new string('x', 255) + "y";

        Assert.True(await store.TryAcceptAsync(Thumbprint, long1, TimeSpan.FromSeconds(65), CancellationToken.None));
        Assert.True(await store.TryAcceptAsync(Thumbprint, long2, TimeSpan.FromSeconds(65), CancellationToken.None));
        Assert.True(await store.TryAcceptAsync(Thumbprint, "zoë-{tag}\n", TimeSpan.FromSeconds(65), CancellationToken.None));
        Assert.False(await store.TryAcceptAsync(Thumbprint, "zoë-{tag}\n", TimeSpan.FromSeconds(65), CancellationToken.None));
    }
}
