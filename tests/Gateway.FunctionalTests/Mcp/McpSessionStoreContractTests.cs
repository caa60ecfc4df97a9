using Gateway.Mcp;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>What every <see cref="IMcpSessionStore"/> must do, run against each implementation.</summary>
public abstract class McpSessionStoreContractTests
{
    protected static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(30);
    protected static readonly McpSessionOwner Alice = McpSessionOwner.Of("alice", "agent-1");
    protected static readonly McpSessionOwner Mallory = McpSessionOwner.Of("mallory", "agent-1");

    /// <summary>A new store that shares nothing with any other test.</summary>
    protected abstract IMcpSessionStore CreateStore();

    /// <summary>Lets time pass for the store: fake time in memory, real time against Redis.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    protected static string NewSessionId() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task BindAsync_NewSession_IsBoundToItsOwner()
    {
        var store = CreateStore();
        var session = NewSessionId();

        var bound = await store.BindAsync(session, Alice, Lifetime, CancellationToken.None);

        Assert.Equal(Alice, bound);
        Assert.Equal(Alice, await store.FindAsync(session, Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task BindAsync_SessionBoundToAnother_KeepsTheFirstOwner()
    {
        var store = CreateStore();
        var session = NewSessionId();
        await store.BindAsync(session, Alice, Lifetime, CancellationToken.None);

        var bound = await store.BindAsync(session, Mallory, Lifetime, CancellationToken.None);

        Assert.Equal(Alice, bound);
        Assert.Equal(Alice, await store.FindAsync(session, Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task BindAsync_FortyConcurrentOwners_ExactlyOneWinsAndAllSeeIt()
    {
        var store = CreateStore();
        var session = NewSessionId();
        var owners = Enumerable.Range(0, 40).Select(i => McpSessionOwner.Of("user-" + i, "agent")).ToArray();

        var results = await Task.WhenAll(owners.Select(owner =>
            Task.Run(() => store.BindAsync(session, owner, Lifetime, CancellationToken.None).AsTask())));

        var winner = Assert.Single(results.Distinct());
        Assert.Contains(winner, owners);
        Assert.Equal(winner, await store.FindAsync(session, Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task FindAsync_UnknownSession_IsNull()
    {
        var store = CreateStore();

        Assert.Null(await store.FindAsync(NewSessionId(), Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task RemoveAsync_EndsTheBinding_AndANewOwnerMayBindTheId()
    {
        var store = CreateStore();
        var session = NewSessionId();
        await store.BindAsync(session, Alice, Lifetime, CancellationToken.None);

        await store.RemoveAsync(session, CancellationToken.None);
        await store.RemoveAsync(NewSessionId(), CancellationToken.None);

        Assert.Null(await store.FindAsync(session, Lifetime, CancellationToken.None));
        Assert.Equal(Mallory, await store.BindAsync(session, Mallory, Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task FindAsync_AfterTheLifetimeUnused_IsForgotten()
    {
        var store = CreateStore();
        var session = NewSessionId();
        await store.BindAsync(session, Alice, TimeSpan.FromMilliseconds(300), CancellationToken.None);

        await AdvanceAsync(TimeSpan.FromMilliseconds(700));

        Assert.Null(await store.FindAsync(session, Lifetime, CancellationToken.None));
    }

    [Fact]
    public async Task FindAsync_RenewsTheLifetime()
    {
        var store = CreateStore();
        var session = NewSessionId();
        var shortLife = TimeSpan.FromMilliseconds(800);
        await store.BindAsync(session, Alice, shortLife, CancellationToken.None);

        await AdvanceAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(Alice, await store.FindAsync(session, shortLife, CancellationToken.None));
        await AdvanceAsync(TimeSpan.FromMilliseconds(500));

        // 1 s after the bind but 0.5 s after the last use: still bound.
        Assert.Equal(Alice, await store.FindAsync(session, shortLife, CancellationToken.None));
    }

    [Fact]
    public async Task Sessions_LongAndUnicodeIds_AreKeptApart()
    {
        var store = CreateStore();
        var long1 = new string('s', 600);
        var long2 = new string('s', 599) + "t";

        await store.BindAsync(long1, Alice, Lifetime, CancellationToken.None);
        await store.BindAsync(long2, Mallory, Lifetime, CancellationToken.None);
        await store.BindAsync("zoë-{tag}\n", Mallory, Lifetime, CancellationToken.None);

        Assert.Equal(Alice, await store.FindAsync(long1, Lifetime, CancellationToken.None));
        Assert.Equal(Mallory, await store.FindAsync(long2, Lifetime, CancellationToken.None));
        Assert.Equal(Mallory, await store.FindAsync("zoë-{tag}\n", Lifetime, CancellationToken.None));
        Assert.Null(await store.FindAsync("zoë-{tag}", Lifetime, CancellationToken.None));
    }

    [Fact]
    public void Owner_DependsOnBothSubjectAndAgent()
    {
        Assert.Equal(McpSessionOwner.Of("alice", "agent-1"), Alice);
        Assert.NotEqual(McpSessionOwner.Of("alice", "agent-2"), Alice);
        Assert.NotEqual(McpSessionOwner.Of("alic", "eagent-1"), Alice);
        Assert.True(McpSessionOwner.TryParseHex(Alice.ToHex(), out var parsed));
        Assert.Equal(Alice, parsed);
        Assert.False(McpSessionOwner.TryParseHex("alice", out _));
    }
}
