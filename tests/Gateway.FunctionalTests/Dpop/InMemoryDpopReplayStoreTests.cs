using Gateway.Dpop;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.FunctionalTests.Dpop;

public sealed class InMemoryDpopReplayStoreTests : DpopReplayStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));

    protected override IDpopReplayStore CreateStore() => new InMemoryDpopReplayStore(_time);

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TryAcceptAsync_ThousandsOfProofsExpire_MemoryIsReclaimed()
    {
        var store = new InMemoryDpopReplayStore(_time);
        for (var i = 0; i < 5_000; i++)
        {
            await store.TryAcceptAsync(Thumbprint, NewJti(), TimeSpan.FromSeconds(65), CancellationToken.None);
        }

        Assert.Equal(5_000, store.Count);

        _time.Advance(TimeSpan.FromMinutes(2));
        await store.TryAcceptAsync(Thumbprint, NewJti(), TimeSpan.FromSeconds(65), CancellationToken.None);

        Assert.Equal(1, store.Count);
    }
}
