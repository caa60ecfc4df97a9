using Gateway.Approvals;

namespace Gateway.FunctionalTests.Approvals;

public sealed class InMemoryApprovalStoreTests : ApprovalStoreContractTests
{
    protected override IApprovalStore CreateStore(ApprovalStoreOptions? options = null) => new InMemoryApprovalStore(options, Time);

    [Fact]
    public async Task CreateAsync_OldRecords_AreSweptOut()
    {
        var store = new InMemoryApprovalStore(new ApprovalStoreOptions { Retention = TimeSpan.FromMinutes(1), SweepInterval = TimeSpan.FromMinutes(1) }, Time);
        for (var i = 0; i < 100; i++)
        {
            await store.CreateAsync(NewRecord(ttl: TimeSpan.FromMinutes(1)), 10, CancellationToken.None);
        }

        Time.Advance(TimeSpan.FromMinutes(3));
        await store.CreateAsync(NewRecord(), 10, CancellationToken.None);

        Assert.Equal(1, store.RecordCount);
    }
}
