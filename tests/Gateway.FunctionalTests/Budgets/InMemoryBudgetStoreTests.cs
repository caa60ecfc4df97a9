using Gateway.Budgets;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.FunctionalTests.Budgets;

public sealed class InMemoryBudgetStoreTests : BudgetStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, 250, TimeSpan.Zero));

    protected override DateTimeOffset Now => _time.GetUtcNow();

    protected override IBudgetStore CreateStore(BudgetStoreOptions? options = null) => new InMemoryBudgetStore(options, _time);

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    protected override Task<int> CountAccountsAsync(IBudgetStore store) => Task.FromResult(((InMemoryBudgetStore)store).AccountCount);

    [Fact]
    public async Task ChargeAsync_ThousandsOfTokensExpire_MemoryIsReclaimed()
    {
        var store = new InMemoryBudgetStore(new BudgetStoreOptions { ExpiryGrace = TimeSpan.FromSeconds(30) }, _time);
        for (var i = 0; i < 5_000; i++)
        {
            await store.ChargeAsync(NewCharge() with { TokenExpires = Now.AddMinutes(5) }, CancellationToken.None);
        }

        Assert.Equal(10_000, store.AccountCount);

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await store.ChargeAsync(NewCharge(), CancellationToken.None);

        Assert.Equal(2, store.AccountCount);
    }
}
