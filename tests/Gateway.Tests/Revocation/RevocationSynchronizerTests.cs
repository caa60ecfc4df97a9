using System.Diagnostics;
using Gateway.Revocation;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Tests.Revocation.RevocationTestData;

namespace Gateway.Tests.Revocation;

public sealed class RevocationSynchronizerTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(Now);
    private readonly ScriptedStore _store;
    private readonly RevocationIndex _index;
    private readonly RevocationSynchronizer _synchronizer;
    private readonly List<RevocationApplied> _applied = [];

    public RevocationSynchronizerTests()
    {
        _store = new ScriptedStore(new InMemoryRevocationStore(_time));
        _index = new RevocationIndex(_time);
        _synchronizer = new RevocationSynchronizer(_store, _index, NullLogger<RevocationSynchronizer>.Instance, _time);
        _synchronizer.Applied += applied =>
        {
            lock (_applied)
            {
                _applied.Add(applied);
            }
        };
    }

    public ValueTask DisposeAsync() => _synchronizer.DisposeAsync();

    [Fact]
    public async Task StartAsync_RulesAlreadyStored_EnforcedWhenStartReturns()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner", createdAt: Now.AddMinutes(-2));
        await _store.AddAsync(rule, CancellationToken.None);

        await _synchronizer.StartAsync(CancellationToken.None);

        Assert.True(_synchronizer.HasLoaded);
        Assert.Same(rule, _index.Match(Token())?.Rule);
        var applied = Assert.Single(_applied);
        Assert.Equal(RevocationDelivery.Startup, applied.Delivery);
        Assert.Equal(TimeSpan.FromMinutes(2), applied.Lag);
    }

    [Fact]
    public async Task Announcement_AppliedAsItArrives_WithItsLag()
    {
        await _synchronizer.StartAsync(CancellationToken.None);
        var rule = Rule(RevocationKind.Subject, "user:alice", createdAt: Now.AddMilliseconds(-40));

        await _store.AddAsync(rule, CancellationToken.None);

        Assert.NotNull(_index.Match(Token()));
        var applied = Assert.Single(_applied);
        Assert.Equal(new RevocationApplied(rule, TimeSpan.FromMilliseconds(40), RevocationDelivery.Announcement), applied);
    }

    [Fact]
    public async Task Announcement_RuleMadeByAClockAhead_LagIsZeroNotNegative()
    {
        await _synchronizer.StartAsync(CancellationToken.None);

        await _store.AddAsync(Rule(RevocationKind.Subject, "user:alice", createdAt: Now.AddMilliseconds(300)), CancellationToken.None);

        Assert.Equal(TimeSpan.Zero, Assert.Single(_applied).Lag);
    }

    [Fact]
    public async Task ResyncAsync_AnnouncementLost_RuleArrivesByResync()
    {
        await _synchronizer.StartAsync(CancellationToken.None);
        _store.DropAnnouncements = true;
        var rule = Rule(RevocationKind.Jti, "jti-child");
        await _store.AddAsync(rule, CancellationToken.None);
        Assert.Null(_index.Match(Token()));

        _time.Advance(TimeSpan.FromSeconds(2));
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.NotNull(_index.Match(Token()));
        var applied = Assert.Single(_applied);
        Assert.Equal(RevocationDelivery.Resync, applied.Delivery);
        Assert.Equal(TimeSpan.FromSeconds(2), applied.Lag);
    }

    [Fact]
    public async Task Timer_AnnouncementLost_ConvergesWithinOneResyncInterval()
    {
        await _synchronizer.StartAsync(CancellationToken.None);
        _store.DropAnnouncements = true;
        await _store.AddAsync(Rule(RevocationKind.Jti, "jti-child"), CancellationToken.None);

        _time.Advance(new RevocationSyncOptions().ResyncInterval);

        Assert.True(await EventuallyAsync(() => _index.Match(Token()) is not null), "the timer's resync did not apply the rule");
    }

    [Fact]
    public async Task ResyncAsync_VersionUnchanged_DoesNotListAgain()
    {
        await _store.AddAsync(Rule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);
        await _synchronizer.StartAsync(CancellationToken.None);
        Assert.Equal(1, _store.Lists);

        await _synchronizer.ResyncAsync(CancellationToken.None);
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.Equal(1, _store.Lists);
        await _store.AddAsync(Rule(RevocationKind.Agent, "agent:other"), CancellationToken.None);
        await _synchronizer.ResyncAsync(CancellationToken.None);
        Assert.Equal(2, _store.Lists);
    }

    [Fact]
    public async Task ResyncAsync_RuleAnnouncedWhileTheListIsInFlight_IsNotLostBySwap()
    {
        await _synchronizer.StartAsync(CancellationToken.None);
        var late = Rule(RevocationKind.Agent, "agent:late");
        await _store.AddAsync(Rule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);

        // The list is read, then a rule is added and announced before the reload swaps the index.
        _store.BeforeListReturns = () => _store.AddAsync(late, CancellationToken.None);
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.NotNull(_index.Match(Token(actors: ["agent:late"])));
        Assert.NotNull(_index.Match(Token(actors: ["agent:planner"])));
    }

    [Fact]
    public async Task ResyncAsync_StoreDown_KeepsEnforcingWhatItHasAndRecovers()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");
        await _store.AddAsync(rule, CancellationToken.None);
        await _synchronizer.StartAsync(CancellationToken.None);
        var lastSynced = _synchronizer.LastSyncedAt;

        _store.Down = true;
        _time.Advance(TimeSpan.FromSeconds(5));
        await _synchronizer.ResyncAsync(CancellationToken.None);
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.Same(rule, _index.Match(Token())?.Rule);
        Assert.Equal(lastSynced, _synchronizer.LastSyncedAt);

        _store.Down = false;
        await _synchronizer.ResyncAsync(CancellationToken.None);
        Assert.Equal(_time.GetUtcNow(), _synchronizer.LastSyncedAt);
    }

    [Fact]
    public async Task StartAsync_StoreDown_StartsWithoutRulesThenLoadsThemWhenItComesBack()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");
        await _store.AddAsync(rule, CancellationToken.None);
        _store.Down = true;

        await _synchronizer.StartAsync(CancellationToken.None);

        Assert.False(_synchronizer.HasLoaded);
        Assert.Null(_synchronizer.LastSyncedAt);
        Assert.Null(_index.Match(Token()));

        _store.Down = false;
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.True(_synchronizer.HasLoaded);
        Assert.NotNull(_index.Match(Token()));
        Assert.Equal(RevocationDelivery.Startup, Assert.Single(_applied).Delivery);

        // The subscription failed at start and was retried by the resync: announcements flow again.
        await _store.AddAsync(Rule(RevocationKind.Subject, "user:bob"), CancellationToken.None);
        Assert.NotNull(_index.Match(Token(subject: "user:bob")));
    }

    [Fact]
    public async Task ResyncAsync_StoreLostItsRules_ReplicaDropsThemToo()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");
        await _store.AddAsync(rule, CancellationToken.None);
        await _synchronizer.StartAsync(CancellationToken.None);

        _store.Replace(new InMemoryRevocationStore(_time));
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.Null(_index.Match(Token()));
    }

    [Fact]
    public async Task ResyncAsync_ExpiredRules_Dropped()
    {
        var rule = Rule(RevocationKind.Agent, "agent:planner");
        await _store.AddAsync(rule, CancellationToken.None);
        await _synchronizer.StartAsync(CancellationToken.None);

        _time.SetUtcNow(rule.ExpiresAt);
        await _synchronizer.ResyncAsync(CancellationToken.None);

        Assert.Equal(0, _index.Count);
    }

    [Fact]
    public async Task Applied_HandlerThrows_OtherHandlersAndTheRuleStillApplied()
    {
        _synchronizer.Applied += _ => throw new InvalidOperationException("broken metric");
        var second = 0;
        _synchronizer.Applied += _ => second++;
        await _synchronizer.StartAsync(CancellationToken.None);

        await _store.AddAsync(Rule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);

        Assert.NotNull(_index.Match(Token()));
        Assert.Equal(1, second);
    }

    [Fact]
    public async Task StopAsync_StopsListening()
    {
        await _synchronizer.StartAsync(CancellationToken.None);

        await _synchronizer.StopAsync(CancellationToken.None);
        await _store.AddAsync(Rule(RevocationKind.Agent, "agent:planner"), CancellationToken.None);

        Assert.Null(_index.Match(Token()));
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(10);
        }

        return false;
    }

    /// <summary>A store that can go down, lose announcements, or be swapped for an empty one.</summary>
    private sealed class ScriptedStore(IRevocationStore inner) : IRevocationStore
    {
        private readonly List<Action<RevocationRule>> _subscribers = [];
        private IRevocationStore _inner = inner;

        public bool Down { get; set; }

        public bool DropAnnouncements { get; set; }

        public int Lists { get; private set; }

        /// <summary>Runs once, after the rules are read and before they are returned.</summary>
        public Func<ValueTask>? BeforeListReturns { get; set; }

        public void Replace(IRevocationStore store) => _inner = store;

        public async ValueTask AddAsync(RevocationRule rule, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            await _inner.AddAsync(rule, cancellationToken);
            if (!DropAnnouncements)
            {
                foreach (var subscriber in _subscribers.ToArray())
                {
                    subscriber(rule);
                }
            }
        }

        public async ValueTask<IReadOnlyList<RevocationRule>> ListAsync(CancellationToken cancellationToken)
        {
            ThrowIfDown();
            Lists++;
            var rules = await _inner.ListAsync(cancellationToken);
            if (BeforeListReturns is { } hook)
            {
                BeforeListReturns = null;
                await hook();
            }

            return rules;
        }

        public ValueTask<string> GetVersionAsync(CancellationToken cancellationToken)
        {
            ThrowIfDown();
            return _inner.GetVersionAsync(cancellationToken);
        }

        public ValueTask<IAsyncDisposable> SubscribeAsync(Action<RevocationRule> onAdded, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            _subscribers.Add(onAdded);
            return new(new Unsubscribe(() => _subscribers.Remove(onAdded)));
        }

        private void ThrowIfDown()
        {
            if (Down)
            {
                throw new RevocationStoreUnavailableException("down");
            }
        }

        private sealed class Unsubscribe(Action action) : IAsyncDisposable
        {
            public ValueTask DisposeAsync()
            {
                action();
                return ValueTask.CompletedTask;
            }
        }
    }
}
