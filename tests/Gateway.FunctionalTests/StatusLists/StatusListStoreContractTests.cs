using Gateway.FunctionalTests.Infrastructure;
using Gateway.Redis.StatusLists;
using Gateway.StatusLists;
using StackExchange.Redis;

namespace Gateway.FunctionalTests.StatusLists;

/// <summary>What every <see cref="IStatusListStore"/> must do, run against the in-memory and the Redis store.</summary>
public abstract class StatusListStoreContractTests
{
    private const int Size = 64;

    protected abstract IStatusListStore CreateStore();

    private static DateTimeOffset InAnHour => DateTimeOffset.UtcNow.AddHours(1);

    private static bool Bit(byte[] bytes, long index) => (bytes[index / 8] & (1 << (int)(index % 8))) != 0;

    [Fact]
    public async Task AllocateAsync_EachChild_ItsOwnIndex_AllClear()
    {
        var store = CreateStore();

        var indices = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            indices.Add(await store.AllocateAsync("child-" + i, ["parent"], InAnHour, Size, CancellationToken.None));
        }

        Assert.Equal(10, indices.Distinct().Count());
        Assert.All(indices, i => Assert.InRange(i, 0, Size - 1));
        Assert.Equal(new byte[Size / 8], await store.ReadAsync(Size, CancellationToken.None));
    }

    [Fact]
    public async Task RevokeAsync_Child_SetsItsBitOnly_Ancestor_SetsEveryDescendant()
    {
        var store = CreateStore();
        var a = await store.AllocateAsync("a", ["root"], InAnHour, Size, CancellationToken.None);
        var b = await store.AllocateAsync("b", ["a", "root"], InAnHour, Size, CancellationToken.None);
        var c = await store.AllocateAsync("c", ["other-root"], InAnHour, Size, CancellationToken.None);

        Assert.Equal(1, await store.RevokeAsync("b", CancellationToken.None));
        var bits = await store.ReadAsync(Size, CancellationToken.None);
        Assert.True(Bit(bits, b));
        Assert.False(Bit(bits, a));

        Assert.Equal(2, await store.RevokeAsync("root", CancellationToken.None));
        bits = await store.ReadAsync(Size, CancellationToken.None);
        Assert.True(Bit(bits, a));
        Assert.True(Bit(bits, b));
        Assert.False(Bit(bits, c));
        Assert.Equal(0, await store.RevokeAsync("nobody", CancellationToken.None));
    }

    [Fact]
    public async Task AllocateAsync_RingWrapsAround_ReusedIndexStartsClear()
    {
        var store = CreateStore();
        var first = await store.AllocateAsync("first", [], InAnHour, 8, CancellationToken.None);
        await store.RevokeAsync("first", CancellationToken.None);
        Assert.True(Bit(await store.ReadAsync(8, CancellationToken.None), first));

        for (var i = 1; i < 8; i++)
        {
            await store.AllocateAsync("filler-" + i, [], InAnHour, 8, CancellationToken.None);
        }

        var reused = await store.AllocateAsync("ninth", [], InAnHour, 8, CancellationToken.None);

        Assert.Equal(first, reused);
        Assert.False(Bit(await store.ReadAsync(8, CancellationToken.None), reused));
    }

    [Fact]
    public async Task ReadAsync_BitOrder_EntryZeroIsTheLowestBitOfByteZero()
    {
        var store = CreateStore();
        for (var i = 0; i < 10; i++)
        {
            await store.AllocateAsync("child-" + i, [], InAnHour, Size, CancellationToken.None);
        }

        await store.RevokeAsync("child-0", CancellationToken.None);
        await store.RevokeAsync("child-9", CancellationToken.None);

        var bytes = await store.ReadAsync(Size, CancellationToken.None);
        Assert.Equal(0x01, bytes[0]);
        Assert.Equal(0x02, bytes[1]);
    }
}

public sealed class InMemoryStatusListStoreTests : StatusListStoreContractTests
{
    protected override IStatusListStore CreateStore() => new InMemoryStatusListStore();
}

public sealed class RedisStatusListStoreTests(RedisFixture redis) : StatusListStoreContractTests, IClassFixture<RedisFixture>
{
    protected override IStatusListStore CreateStore() => new RedisStatusListStore(redis.Connection, "t" + Guid.NewGuid().ToString("N")[..8] + ":");

    [Fact]
    public async Task AllocateAsync_TwoReplicasAtOnce_NeverTheSameIndex_AndOneList()
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var other = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString);
        var a = new RedisStatusListStore(redis.Connection, prefix);
        var b = new RedisStatusListStore(other, prefix);

        var allocations = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            (i % 2 == 0 ? a : b).AllocateAsync("child-" + i, ["root"], DateTimeOffset.UtcNow.AddHours(1), 1024, CancellationToken.None).AsTask()));
        await a.RevokeAsync("child-1", CancellationToken.None);

        Assert.Equal(200, allocations.Distinct().Count());
        var fromB = await b.ReadAsync(1024, CancellationToken.None);
        Assert.Equal(await a.ReadAsync(1024, CancellationToken.None), fromB);
        Assert.NotEqual(0, fromB[allocations[1] / 8] & (1 << (int)(allocations[1] % 8)));
    }
}
