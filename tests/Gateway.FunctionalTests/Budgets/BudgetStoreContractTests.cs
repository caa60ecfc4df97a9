using Gateway.Budgets;

namespace Gateway.FunctionalTests.Budgets;

/// <summary>
/// What every <see cref="IBudgetStore"/> must do, run against each implementation, so the gateway
/// behaves the same whichever store backs it.
/// </summary>
public abstract class BudgetStoreContractTests
{
    protected const string Agent = "agent:planner";

    /// <summary>A new store that shares no accounts with any other test.</summary>
    protected abstract IBudgetStore CreateStore(BudgetStoreOptions? options = null);

    /// <summary>The store's clock.</summary>
    protected abstract DateTimeOffset Now { get; }

    /// <summary>Lets time pass for the store: fake time in memory, real time against Redis.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    /// <summary>Accounts the store still holds (a test's own store only).</summary>
    protected abstract Task<int> CountAccountsAsync(IBudgetStore store);

    /// <summary>A window short enough to wait out in a test.</summary>
    protected virtual TimeSpan ShortWindow => TimeSpan.FromSeconds(2);

    protected BudgetCharge NewCharge(int maxSteps = 5, int risk = 1, int riskLimit = 100) => new()
    {
        Subject = "user:" + Guid.NewGuid().ToString("N"),
        Agent = Agent,
        Jti = NewJti(),
        MaxSteps = maxSteps,
        TokenExpires = Now.AddHours(1),
        Risk = risk,
        RiskLimit = riskLimit,
        RiskWindow = TimeSpan.FromHours(1),
        DefaultSteps = 50,
    };

    protected static string NewJti() => "jti-" + Guid.NewGuid().ToString("N");

    protected static async Task<BudgetResult[]> ChargeConcurrentlyAsync(IBudgetStore store, IEnumerable<BudgetCharge> charges)
    {
        // Task.Run puts each charge on the pool, so they really race instead of running one by one.
        var tasks = charges.Select(charge => Task.Run(() => store.ChargeAsync(charge, CancellationToken.None).AsTask()));
        return await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task ChargeAsync_FiftyConcurrentChargesOnFiveSteps_AllowsExactlyFive()
    {
        var store = CreateStore();
        var charge = NewCharge(maxSteps: 5);

        var results = await ChargeConcurrentlyAsync(store, Enumerable.Repeat(charge, 50));

        Assert.Equal(5, results.Count(r => r.IsAllowed));
        Assert.All(results.Where(r => !r.IsAllowed), r =>
        {
            Assert.Equal(BudgetOutcome.StepLimitExceeded, r.Outcome);
            Assert.Equal(charge.Jti, r.ExhaustedJti);
            Assert.Equal(0, r.StepsRemaining);
        });
        Assert.Equal(Enumerable.Range(0, 5).Reverse(), results.Where(r => r.IsAllowed).Select(r => r.StepsRemaining).Order().Reverse());
        var snapshot = await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None);
        Assert.Equal(5, snapshot.StepsUsed);
        Assert.Equal(5, snapshot.RiskUsed);
    }

    [Fact]
    public async Task ChargeAsync_Allowed_ReportsWhatIsLeftAfterTheCall()
    {
        var store = CreateStore();
        var charge = NewCharge(maxSteps: 3, risk: 7, riskLimit: 20);

        var result = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, result.Outcome);
        Assert.Equal(2, result.StepsRemaining);
        Assert.Equal(13, result.RiskRemaining);
        Assert.Null(result.ExhaustedJti);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public async Task ChargeAsync_StepsRefused_ConsumesNoRisk()
    {
        var store = CreateStore();
        var charge = NewCharge(maxSteps: 1, risk: 4, riskLimit: 10);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        var refused = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.StepLimitExceeded, refused.Outcome);
        Assert.Equal(6, refused.RiskRemaining);
        var snapshot = await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None);
        Assert.Equal(4, snapshot.RiskUsed);
        Assert.Equal(1, snapshot.StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_RiskRefused_ConsumesNoStep()
    {
        var store = CreateStore();
        var charge = NewCharge(maxSteps: 2, risk: 3, riskLimit: 5);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        var refused = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.RiskLimitExceeded, refused.Outcome);
        Assert.Equal(1, refused.StepsRemaining);
        Assert.Equal(2, refused.RiskRemaining);

        // Nothing was consumed: the last step and the last two risk points are still there.
        var fits = await store.ChargeAsync(charge with { Risk = 2 }, CancellationToken.None);
        Assert.Equal(BudgetOutcome.Allowed, fits.Outcome);
        Assert.Equal(0, fits.StepsRemaining);
        Assert.Equal(0, fits.RiskRemaining);
    }

    [Fact]
    public async Task ChargeAsync_RiskLimitReached_RefusesWithRetryAfterToTheWindowEnd()
    {
        var store = CreateStore();
        var charge = NewCharge(risk: 60, riskLimit: 100);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        var refused = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.RiskLimitExceeded, refused.Outcome);
        Assert.Null(refused.ExhaustedJti);
        Assert.NotNull(refused.RetryAfter);
        Assert.InRange(refused.RetryAfter.Value, TimeSpan.FromMilliseconds(1), charge.RiskWindow);
        var windowEnds = Now + refused.RetryAfter.Value;
        Assert.InRange(windowEnds.ToUnixTimeMilliseconds() % (long)charge.RiskWindow.TotalMilliseconds, 0, 1_000);
    }

    [Fact]
    public async Task ChargeAsync_BypassRiskLimit_AdmitsPastTheLimitAndStillAddsTheRisk()
    {
        var store = CreateStore();
        var charge = NewCharge(risk: 8, riskLimit: 10);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);
        Assert.Equal(BudgetOutcome.RiskLimitExceeded, (await store.ChargeAsync(charge, CancellationToken.None)).Outcome);

        var approved = await store.ChargeAsync(charge with { BypassRiskLimit = true }, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, approved.Outcome);
        Assert.Equal(0, approved.RiskRemaining);
        var snapshot = await store.GetAsync(charge.Subject, Agent, null, CancellationToken.None);
        Assert.Equal(16, snapshot.RiskUsed);
        Assert.Equal(0, snapshot.RiskRemaining);
        Assert.Equal(BudgetOutcome.RiskLimitExceeded, (await store.ChargeAsync(charge with { Risk = 1 }, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task ChargeAsync_BypassRiskLimit_StillRefusedWithoutSteps()
    {
        var store = CreateStore();
        var charge = NewCharge(maxSteps: 1, risk: 1, riskLimit: 10) with { BypassRiskLimit = true };
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        var refused = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.StepLimitExceeded, refused.Outcome);
    }

    [Fact]
    public async Task ChargeAsync_ZeroRiskRoute_NeverRefusedForRisk()
    {
        var store = CreateStore();
        var charge = NewCharge(risk: 5, riskLimit: 5);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        var free = await store.ChargeAsync(charge with { Risk = 0 }, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, free.Outcome);
        Assert.Equal(0, free.RiskRemaining);
    }

    [Fact]
    public async Task ChargeAsync_AfterTheWindowRolls_RiskUsageResets()
    {
        var store = CreateStore();
        var window = ShortWindow;
        await WaitForWindowStartAsync(window);
        var charge = NewCharge(risk: 3, riskLimit: 5) with { RiskWindow = window };
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);
        var refused = await store.ChargeAsync(charge, CancellationToken.None);
        Assert.Equal(BudgetOutcome.RiskLimitExceeded, refused.Outcome);
        Assert.InRange(refused.RetryAfter!.Value, TimeSpan.FromMilliseconds(1), window);

        await AdvanceAsync(refused.RetryAfter.Value + TimeSpan.FromMilliseconds(100));
        var next = await store.ChargeAsync(charge, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, next.Outcome);
        Assert.Equal(2, next.RiskRemaining);
        Assert.Equal(3, next.StepsRemaining);
    }

    [Fact]
    public async Task ChargeAsync_ChildCharge_ConsumesParentSteps()
    {
        var store = CreateStore();
        var parent = NewCharge(maxSteps: 3);
        var child = parent with { Jti = NewJti(), MaxSteps = 10, Ancestors = [parent.Jti] };
        Assert.True((await store.ChargeAsync(parent, CancellationToken.None)).IsAllowed);

        var first = await store.ChargeAsync(child, CancellationToken.None);
        var second = await store.ChargeAsync(child, CancellationToken.None);
        var third = await store.ChargeAsync(child, CancellationToken.None);

        Assert.Equal(1, first.StepsRemaining);
        Assert.Equal(0, second.StepsRemaining);
        Assert.Equal(BudgetOutcome.StepLimitExceeded, third.Outcome);
        Assert.Equal(parent.Jti, third.ExhaustedJti);
        Assert.Equal(BudgetOutcome.StepLimitExceeded, (await store.ChargeAsync(parent, CancellationToken.None)).Outcome);
        var childSnapshot = await store.GetAsync(child.Subject, Agent, child.Jti, CancellationToken.None);
        Assert.Equal(2, childSnapshot.StepsUsed);
        Assert.Equal(8, childSnapshot.StepsRemaining);
    }

    [Fact]
    public async Task ChargeAsync_ChildExhaustsUnseenParent_RefusesSibling()
    {
        var store = CreateStore();
        var parentJti = NewJti();
        var child = NewCharge(maxSteps: 10) with { Ancestors = [parentJti], DefaultSteps = 3 };
        var sibling = child with { Jti = NewJti() };

        var results = new List<BudgetResult>();
        for (var i = 0; i < 3; i++)
        {
            results.Add(await store.ChargeAsync(child, CancellationToken.None));
        }

        Assert.All(results, r => Assert.True(r.IsAllowed));
        Assert.Equal([2, 1, 0], results.Select(r => r.StepsRemaining));
        var refused = await store.ChargeAsync(sibling, CancellationToken.None);
        Assert.Equal(BudgetOutcome.StepLimitExceeded, refused.Outcome);
        Assert.Equal(parentJti, refused.ExhaustedJti);
        var siblingSnapshot = await store.GetAsync(sibling.Subject, Agent, sibling.Jti, CancellationToken.None);
        Assert.Null(siblingSnapshot.StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_ConcurrentChildrenOfOneParent_NeverOverdrawTheParent()
    {
        var store = CreateStore();
        var parentJti = NewJti();
        var template = NewCharge(maxSteps: 100) with { Ancestors = [parentJti], DefaultSteps = 7 };
        var children = Enumerable.Range(0, 5).Select(_ => template with { Jti = NewJti() }).ToArray();

        var results = await ChargeConcurrentlyAsync(store, Enumerable.Range(0, 60).Select(i => children[i % children.Length]));

        Assert.Equal(7, results.Count(r => r.IsAllowed));
        Assert.All(results.Where(r => !r.IsAllowed), r => Assert.Equal(parentJti, r.ExhaustedJti));
    }

    [Fact]
    public async Task ChargeAsync_GrandchildCharge_ConsumesEveryAncestorAndReportsTheTightest()
    {
        var store = CreateStore();
        var root = NewCharge(maxSteps: 4);
        var parent = root with { Jti = NewJti(), MaxSteps = 20, Ancestors = [root.Jti] };
        var grandchild = root with { Jti = NewJti(), MaxSteps = 20, Ancestors = [parent.Jti, root.Jti] };
        Assert.True((await store.ChargeAsync(root, CancellationToken.None)).IsAllowed);
        Assert.True((await store.ChargeAsync(parent, CancellationToken.None)).IsAllowed);

        var result = await store.ChargeAsync(grandchild, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, result.Outcome);
        Assert.Equal(1, result.StepsRemaining);
        var parentSnapshot = await store.GetAsync(root.Subject, Agent, parent.Jti, CancellationToken.None);
        Assert.Equal(2, parentSnapshot.StepsUsed);
        var rootSnapshot = await store.GetAsync(root.Subject, Agent, root.Jti, CancellationToken.None);
        Assert.Equal(3, rootSnapshot.StepsUsed);
        Assert.Equal(4, rootSnapshot.StepsLimit);
    }

    [Fact]
    public async Task ChargeAsync_AncestorOpenedByChild_TakesItsOwnLimitWhenItCharges()
    {
        var store = CreateStore();
        var parent = NewCharge(maxSteps: 3);
        var child = parent with { Jti = NewJti(), Ancestors = [parent.Jti], DefaultSteps = 50 };
        Assert.True((await store.ChargeAsync(child, CancellationToken.None)).IsAllowed);
        Assert.True((await store.ChargeAsync(child, CancellationToken.None)).IsAllowed);
        Assert.Equal(50, (await store.GetAsync(parent.Subject, Agent, parent.Jti, CancellationToken.None)).StepsLimit);

        var own = await store.ChargeAsync(parent, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, own.Outcome);
        Assert.Equal(0, own.StepsRemaining);
        Assert.Equal(3, (await store.GetAsync(parent.Subject, Agent, parent.Jti, CancellationToken.None)).StepsLimit);
        Assert.Equal(parent.Jti, (await store.ChargeAsync(child, CancellationToken.None)).ExhaustedJti);
    }

    [Fact]
    public async Task ChargeAsync_ChainNamingAnAccountTwice_ChargesItOnce()
    {
        var store = CreateStore();
        var parentJti = NewJti();
        var charge = NewCharge(maxSteps: 10) with { Ancestors = [parentJti, parentJti], DefaultSteps = 10 };
        var selfListed = charge with { Ancestors = [charge.Jti, parentJti] };

        await store.ChargeAsync(charge, CancellationToken.None);
        await store.ChargeAsync(selfListed, CancellationToken.None);

        Assert.Equal(2, (await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None)).StepsUsed);
        Assert.Equal(2, (await store.GetAsync(charge.Subject, Agent, parentJti, CancellationToken.None)).StepsUsed);
    }

    [Fact]
    public async Task ChargeAsync_ZeroMaxSteps_RefusesEveryCall()
    {
        var store = CreateStore();

        var result = await store.ChargeAsync(NewCharge(maxSteps: 0), CancellationToken.None);

        Assert.Equal(BudgetOutcome.StepLimitExceeded, result.Outcome);
    }

    [Fact]
    public async Task ChargeAsync_OtherSubjectOrAgent_SharesNoRisk()
    {
        var store = CreateStore();
        var charge = NewCharge(risk: 10, riskLimit: 10);
        Assert.True((await store.ChargeAsync(charge, CancellationToken.None)).IsAllowed);

        var otherAgent = await store.ChargeAsync(charge with { Agent = "agent:other", Jti = NewJti() }, CancellationToken.None);
        var otherSubject = await store.ChargeAsync(charge with { Subject = "user:" + Guid.NewGuid().ToString("N"), Jti = NewJti() }, CancellationToken.None);

        Assert.Equal(BudgetOutcome.Allowed, otherAgent.Outcome);
        Assert.Equal(BudgetOutcome.Allowed, otherSubject.Outcome);
    }

    [Fact]
    public async Task ChargeAsync_InvalidCharge_ThrowsArgumentException()
    {
        var store = CreateStore();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ChargeAsync(NewCharge() with { Risk = -1 }, CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ChargeAsync(NewCharge() with { Jti = "" }, CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ChargeAsync(NewCharge() with { RiskWindow = TimeSpan.Zero }, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task GetAsync_AfterCharges_ReportsUsedAndRemaining()
    {
        var store = CreateStore();
        var charge = NewCharge(maxSteps: 10, risk: 15, riskLimit: 40);
        await store.ChargeAsync(charge, CancellationToken.None);
        await store.ChargeAsync(charge, CancellationToken.None);

        var snapshot = await store.GetAsync(charge.Subject, Agent, charge.Jti, CancellationToken.None);

        Assert.Equal(charge.Subject, snapshot.Subject);
        Assert.Equal(Agent, snapshot.Agent);
        Assert.Equal(charge.Jti, snapshot.Jti);
        Assert.Equal(30, snapshot.RiskUsed);
        Assert.Equal(40, snapshot.RiskLimit);
        Assert.Equal(10, snapshot.RiskRemaining);
        Assert.NotNull(snapshot.RiskWindowEnds);
        Assert.InRange(snapshot.RiskWindowEnds.Value, Now, Now + charge.RiskWindow);
        Assert.Equal(0, snapshot.RiskWindowEnds.Value.ToUnixTimeMilliseconds() % (long)charge.RiskWindow.TotalMilliseconds);
        Assert.Equal(2, snapshot.StepsUsed);
        Assert.Equal(10, snapshot.StepsLimit);
        Assert.Equal(8, snapshot.StepsRemaining);
    }

    [Fact]
    public async Task GetAsync_NothingCharged_ReportsNothingUsed()
    {
        var store = CreateStore();

        var snapshot = await store.GetAsync("user:nobody-" + Guid.NewGuid().ToString("N"), Agent, NewJti(), CancellationToken.None);

        Assert.Equal(0, snapshot.RiskUsed);
        Assert.Null(snapshot.RiskLimit);
        Assert.Null(snapshot.RiskRemaining);
        Assert.Null(snapshot.RiskWindowEnds);
        Assert.Null(snapshot.StepsUsed);
        Assert.Null(snapshot.StepsRemaining);
    }

    [Fact]
    public async Task GetAsync_WindowRolled_ReportsNothingUsed()
    {
        var store = CreateStore();
        var charge = NewCharge(risk: 3) with { RiskWindow = ShortWindow };
        await store.ChargeAsync(charge, CancellationToken.None);

        await AdvanceAsync(ShortWindow + TimeSpan.FromMilliseconds(100));
        var snapshot = await store.GetAsync(charge.Subject, Agent, null, CancellationToken.None);

        Assert.Equal(0, snapshot.RiskUsed);
        Assert.Null(snapshot.RiskLimit);
    }

    [Fact]
    public async Task ChargeAsync_AccountsPastTheirExpiry_AreRemovedByThemselves()
    {
        var store = CreateStore(new BudgetStoreOptions { ExpiryGrace = TimeSpan.Zero, SweepInterval = TimeSpan.FromMilliseconds(500) });

        // Near the end of a window the risk account would expire before it is counted.
        await WaitForWindowStartAsync(ShortWindow);
        var shortLived = NewCharge() with { TokenExpires = Now.AddSeconds(1), RiskWindow = ShortWindow, Ancestors = [NewJti()] };
        await store.ChargeAsync(shortLived, CancellationToken.None);
        Assert.Equal(3, await CountAccountsAsync(store));

        await AdvanceAsync(ShortWindow + TimeSpan.FromSeconds(1));
        await store.ChargeAsync(NewCharge(), CancellationToken.None);

        Assert.Equal(2, await CountAccountsAsync(store));
        var snapshot = await store.GetAsync(shortLived.Subject, Agent, shortLived.Jti, CancellationToken.None);
        Assert.Null(snapshot.StepsUsed);
        Assert.Equal(0, snapshot.RiskUsed);
    }

    [Fact]
    public async Task PingAsync_StoreUp_ReturnsTrue()
    {
        var store = CreateStore();

        Assert.True(await store.PingAsync(CancellationToken.None));
    }

    /// <summary>Waits until just after a window boundary, so a test's charges all land in one window.</summary>
    protected async Task WaitForWindowStartAsync(TimeSpan window)
    {
        var windowMs = (long)window.TotalMilliseconds;
        var intoWindow = Now.ToUnixTimeMilliseconds() % windowMs;
        await AdvanceAsync(TimeSpan.FromMilliseconds(windowMs - intoWindow + 50));
    }
}
