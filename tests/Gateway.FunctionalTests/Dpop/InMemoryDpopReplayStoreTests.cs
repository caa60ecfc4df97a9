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
}
