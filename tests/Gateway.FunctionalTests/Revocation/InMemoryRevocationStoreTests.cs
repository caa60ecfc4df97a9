using Gateway.Revocation;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.FunctionalTests.Revocation;

public sealed class InMemoryRevocationStoreTests : RevocationStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, 250, TimeSpan.Zero));

    protected override TimeProvider Time => _time;

    protected override IRevocationStore CreateStore() => new InMemoryRevocationStore(_time);

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    protected override Task<int> CountStoredAsync(IRevocationStore store) => Task.FromResult(((InMemoryRevocationStore)store).StoredCount);
}
