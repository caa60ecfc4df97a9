using System.Collections.Concurrent;
using System.Diagnostics;
using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.FunctionalTests.Revocation;

/// <summary>
/// What every <see cref="IRevocationStore"/> must do, run against each implementation, so revocation behaves
/// the same whichever store backs it.
/// </summary>
public abstract class RevocationStoreContractTests
{
    /// <summary>A new store that shares no rules with any other test.</summary>
    protected abstract IRevocationStore CreateStore();

    /// <summary>The store's clock.</summary>
    protected abstract TimeProvider Time { get; }

    protected DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Lets time pass for the store: fake time in memory, real time against Redis.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    /// <summary>Rules the store still physically holds, expired or not (a test's own store only).</summary>
    protected abstract Task<int> CountStoredAsync(IRevocationStore store);

    /// <summary>A rule made now that expires after <paramref name="lifetime"/> (default one hour).</summary>
    protected RevocationRule NewRule(RevocationKind kind = RevocationKind.Agent, string? value = null, TimeSpan? lifetime = null, DateTimeOffset? issuedBefore = null)
    {
        var now = Now;
        return new RevocationRule
        {
            Id = RevocationRule.NewId(),
            Kind = kind,
            Value = value ?? "agent:" + Guid.NewGuid().ToString("N"),
            IssuedBefore = issuedBefore,
            Reason = "contract test",
            CreatedAt = now,
            ExpiresAt = now + (lifetime ?? TimeSpan.FromHours(1)),
        };
    }

    [Fact]
    public async Task ListAsync_NewStore_Empty()
    {
        var store = CreateStore();

        Assert.Empty(await store.ListAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(RevocationKind.Jti, false)]
    [InlineData(RevocationKind.Agent, true)]
    [InlineData(RevocationKind.Subject, false)]
    [InlineData(RevocationKind.ClientId, true)]
    public async Task AddAsync_EveryKindWithOrWithoutCutOff_ListedAsAdded(RevocationKind kind, bool cutOff)
    {
        var store = CreateStore();
        var rule = NewRule(kind, "value:" + kind, issuedBefore: cutOff ? Now.AddMinutes(-1) : null);

        await store.AddAsync(rule, CancellationToken.None);

        Assert.Equal([rule], await store.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ListAsync_SeveralRules_OldestFirst()
    {
        var store = CreateStore();
        var first = NewRule();
        await AdvanceAsync(TimeSpan.FromMilliseconds(20));
        var second = NewRule();
        await store.AddAsync(second, CancellationToken.None);
        await store.AddAsync(first, CancellationToken.None);

        Assert.Equal([first, second], await store.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AddAsync_SameIdTwice_StoredAndAnnouncedOnce()
    {
        var store = CreateStore();
        var announced = new ConcurrentQueue<RevocationRule>();
        await using var subscription = await store.SubscribeAsync(announced.Enqueue, CancellationToken.None);
        var rule = NewRule();
        await store.AddAsync(rule, CancellationToken.None);
        var version = await store.GetVersionAsync(CancellationToken.None);

        await store.AddAsync(rule with { Reason = "changed" }, CancellationToken.None);

        Assert.Equal([rule], await store.ListAsync(CancellationToken.None));
        Assert.Equal(version, await store.GetVersionAsync(CancellationToken.None));
        Assert.True(await EventuallyAsync(() => !announced.IsEmpty));
        await Task.Delay(100);
        Assert.Equal([rule], announced);
    }

    [Fact]
    public async Task AddAsync_AlreadyExpired_Refused()
    {
        var store = CreateStore();
        var rule = NewRule() with { ExpiresAt = Now };

        await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync(rule, CancellationToken.None).AsTask());

        Assert.Empty(await store.ListAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("rev {x}")]
    [InlineData("rev:1")]
    public async Task AddAsync_IdNotKeySafe_Refused(string id)
    {
        var store = CreateStore();

        await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync(NewRule() with { Id = id }, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task ListAsync_ExpiredRule_NotListedAndNoLongerHeld()
    {
        var store = CreateStore();
        var shortLived = NewRule(lifetime: TimeSpan.FromMilliseconds(700));
        var longLived = NewRule();
        await store.AddAsync(shortLived, CancellationToken.None);
        await store.AddAsync(longLived, CancellationToken.None);
        Assert.Equal(2, await CountStoredAsync(store));

        await AdvanceAsync(TimeSpan.FromMilliseconds(800));

        Assert.Equal([longLived], await store.ListAsync(CancellationToken.None));
        Assert.Equal(1, await CountStoredAsync(store));
    }

    [Fact]
    public async Task GetVersionAsync_ChangesWithEveryAddAndOnlyThen()
    {
        var store = CreateStore();
        var empty = await store.GetVersionAsync(CancellationToken.None);
        var rule = NewRule(lifetime: TimeSpan.FromMilliseconds(500));

        await store.AddAsync(rule, CancellationToken.None);
        var one = await store.GetVersionAsync(CancellationToken.None);
        await store.ListAsync(CancellationToken.None);
        await AdvanceAsync(TimeSpan.FromMilliseconds(600));
        await store.ListAsync(CancellationToken.None);
        var afterExpiry = await store.GetVersionAsync(CancellationToken.None);
        await store.AddAsync(NewRule(), CancellationToken.None);
        var two = await store.GetVersionAsync(CancellationToken.None);

        Assert.NotEqual(empty, one);
        Assert.Equal(one, afterExpiry);
        Assert.NotEqual(one, two);
    }

    [Fact]
    public async Task SubscribeAsync_EverySubscriber_GetsEachAddedRule()
    {
        var store = CreateStore();
        var first = new ConcurrentQueue<RevocationRule>();
        var second = new ConcurrentQueue<RevocationRule>();
        await using var one = await store.SubscribeAsync(first.Enqueue, CancellationToken.None);
        await using var two = await store.SubscribeAsync(second.Enqueue, CancellationToken.None);
        var rule = NewRule(RevocationKind.Subject, "user:alice", issuedBefore: Now.AddMinutes(-5));

        await store.AddAsync(rule, CancellationToken.None);

        Assert.True(await EventuallyAsync(() => first.Count == 1 && second.Count == 1));
        Assert.Equal(rule, Assert.Single(first));
        Assert.Equal(rule, Assert.Single(second));
    }

    [Fact]
    public async Task SubscribeAsync_Disposed_NothingMoreDelivered()
    {
        var store = CreateStore();
        var announced = new ConcurrentQueue<RevocationRule>();
        var subscription = await store.SubscribeAsync(announced.Enqueue, CancellationToken.None);
        await store.AddAsync(NewRule(), CancellationToken.None);
        Assert.True(await EventuallyAsync(() => announced.Count == 1));

        await subscription.DisposeAsync();
        await store.AddAsync(NewRule(), CancellationToken.None);
        await Task.Delay(200);

        Assert.Single(announced);
    }

    [Theory]
    [InlineData(RevocationKind.Jti)]
    [InlineData(RevocationKind.Agent)]
    [InlineData(RevocationKind.Subject)]
    [InlineData(RevocationKind.ClientId)]
    public async Task Synchronizer_RuleAddedToTheStore_EnforcedByTheIndex(RevocationKind kind)
    {
        var store = CreateStore();
        var index = new RevocationIndex(Time);
        await using var synchronizer = new RevocationSynchronizer(store, index, NullLogger<RevocationSynchronizer>.Instance, Time);
        await synchronizer.StartAsync(CancellationToken.None);
        var token = Token();
        var value = kind switch
        {
            RevocationKind.Jti => token.Jti,
            RevocationKind.Agent => token.Agent,
            RevocationKind.Subject => token.Subject,
            _ => token.ClientId!,
        };

        await store.AddAsync(NewRule(kind, value), CancellationToken.None);

        Assert.True(await EventuallyAsync(() => index.Match(token) is not null));
        Assert.Null(index.Match(Token(jti: "other", agent: "agent:other", subject: "user:other", clientId: "other")));
    }

    /// <summary>A token issued a minute ago, with every claim a rule can name.</summary>
    protected CapabilityToken Token(string jti = "jti-1", string agent = "agent:planner", string subject = "user:alice", string clientId = "runtime-1") => new()
    {
        Jti = jti,
        Issuer = "https://idp.test",
        Subject = subject,
        Agent = agent,
        Actors = [agent],
        ClientId = clientId,
        IssuedAt = Now.AddMinutes(-1),
        Expires = Now.AddMinutes(9),
        Grants = [],
    };

    protected static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(5)))
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(5);
        }

        return condition();
    }
}
