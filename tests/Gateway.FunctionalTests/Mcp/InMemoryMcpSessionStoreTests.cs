using Gateway.Mcp;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.FunctionalTests.Mcp;

public sealed class InMemoryMcpSessionStoreTests : McpSessionStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));

    protected override IMcpSessionStore CreateStore() => new InMemoryMcpSessionStore(_time);

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Sessions_ThousandsExpire_MemoryIsReclaimed()
    {
        var store = new InMemoryMcpSessionStore(_time);
        for (var i = 0; i < 5_000; i++)
        {
            await store.BindAsync(NewSessionId(), Alice, TimeSpan.FromMinutes(1), CancellationToken.None);
        }

        Assert.Equal(5_000, store.Count);

        _time.Advance(TimeSpan.FromMinutes(2));
        await store.BindAsync(NewSessionId(), Alice, TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(1, store.Count);
    }
}
