using System.Diagnostics;
using Gateway.Budgets;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Budgets;

public sealed class ResilientBudgetStoreTests
{
    private static readonly BudgetResult Allowed = new() { Outcome = BudgetOutcome.Allowed, StepsRemaining = 4, RiskRemaining = 99 };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly ScriptedStore _inner = new();

    private static BudgetStoreOptions Options => new() { MinimumThroughput = 4, FailureRatio = 0.5, BreakDuration = TimeSpan.FromSeconds(2) };

    private static BudgetCharge Charge => new()
    {
        Subject = "user:1",
        Agent = "agent:a",
        Jti = "jti-1",
        MaxSteps = 5,
        TokenExpires = DateTimeOffset.UnixEpoch.AddYears(60),
        Risk = 1,
        RiskLimit = 100,
        RiskWindow = TimeSpan.FromHours(1),
        DefaultSteps = 50,
    };

    [Fact]
    public async Task ChargeAsync_StoreAnswers_ReturnsItsResult()
    {
        _inner.Charge = _ => ValueTask.FromResult(Allowed);
        var store = new ResilientBudgetStore(_inner, Options, timeProvider: _time);

        var result = await store.ChargeAsync(Charge, CancellationToken.None);

        Assert.Same(Allowed, result);
    }

    [Fact]
    public async Task ChargeAsync_StoreFails_ThrowsOnceWithoutRetrying()
    {
        _inner.Charge = _ => throw new BudgetStoreUnavailableException("down");
        var store = new ResilientBudgetStore(_inner, Options, timeProvider: _time);

        await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(Charge, CancellationToken.None).AsTask());

        Assert.Equal(1, _inner.Calls);
    }

    [Fact]
    public async Task ChargeAsync_StoreHangs_ThrowsUnavailableWhenTheTimeoutPasses()
    {
        _inner.Charge = async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return Allowed;
        };
        var store = new ResilientBudgetStore(_inner, Options with { Timeout = TimeSpan.FromMilliseconds(50) });

        var took = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(Charge, CancellationToken.None).AsTask());

        Assert.InRange(took.Elapsed, TimeSpan.FromMilliseconds(40), TimeSpan.FromSeconds(2));
        Assert.Contains("50 ms", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChargeAsync_RepeatedFailures_OpenTheCircuitAndStopCallingTheStore()
    {
        _inner.Charge = _ => throw new BudgetStoreUnavailableException("down");
        var store = new ResilientBudgetStore(_inner, Options, timeProvider: _time);
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(Charge, CancellationToken.None).AsTask());
        }

        var broken = await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(Charge, CancellationToken.None).AsTask());

        Assert.Equal(4, _inner.Calls);
        Assert.NotNull(broken.RetryAfter);
        Assert.False(await store.PingAsync(CancellationToken.None));
        Assert.Equal(0, _inner.Pings);
    }

    [Fact]
    public async Task ChargeAsync_StoreBackAfterTheBreak_ClosesTheCircuitByItself()
    {
        _inner.Charge = _ => throw new BudgetStoreUnavailableException("down");
        var store = new ResilientBudgetStore(_inner, Options, timeProvider: _time);
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<BudgetStoreUnavailableException>(() => store.ChargeAsync(Charge, CancellationToken.None).AsTask());
        }

        _inner.Charge = _ => ValueTask.FromResult(Allowed);
        _time.Advance(TimeSpan.FromSeconds(2.1));

        Assert.True(await store.PingAsync(CancellationToken.None));
        Assert.Same(Allowed, await store.ChargeAsync(Charge, CancellationToken.None));
    }

    [Fact]
    public async Task PingAsync_StoreUnreachable_ReturnsFalse()
    {
        _inner.Ping = _ => ValueTask.FromResult(false);
        var store = new ResilientBudgetStore(_inner, Options, timeProvider: _time);

        Assert.False(await store.PingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ChargeAsync_CallerCancels_ThrowsOperationCanceled()
    {
        _inner.Charge = async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return Allowed;
        };
        var store = new ResilientBudgetStore(_inner, Options with { Timeout = TimeSpan.FromSeconds(30) });
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ChargeAsync(Charge, cancel.Token).AsTask());
    }

    [Fact]
    public async Task ChargeAsync_InvalidCharge_ThrowsArgumentErrorAndLeavesTheCircuitClosed()
    {
        _inner.Charge = _ => throw new ArgumentOutOfRangeException("charge");
        var store = new ResilientBudgetStore(_inner, Options, timeProvider: _time);
        for (var i = 0; i < 10; i++)
        {
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ChargeAsync(Charge, CancellationToken.None).AsTask());
        }

        Assert.True(await store.PingAsync(CancellationToken.None));
    }

    [Fact]
    public void Constructor_OptionOutOfRange_Throws()
    {
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(
            () => new ResilientBudgetStore(_inner, Options with { FailureRatio = 2 }));
    }

    private sealed class ScriptedStore : IBudgetStore
    {
        private int _calls;
        private int _pings;

        public Func<CancellationToken, ValueTask<BudgetResult>> Charge { get; set; } = _ => ValueTask.FromResult(Allowed);
        public Func<CancellationToken, ValueTask<bool>> Ping { get; set; } = _ => ValueTask.FromResult(true);
        public int Calls => _calls;
        public int Pings => _pings;

        public ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Charge(cancellationToken);
        }

        public ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new BudgetSnapshot { Subject = subject, Agent = agent, Jti = jti });

        public ValueTask<bool> PingAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _pings);
            return Ping(cancellationToken);
        }
    }
}
