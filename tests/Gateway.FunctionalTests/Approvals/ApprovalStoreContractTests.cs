using Gateway.Approvals;
using Gateway.Policy;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.FunctionalTests.Approvals;

/// <summary>
/// What every <see cref="IApprovalStore"/> must do, run against each implementation. Both stores take
/// "now" from their <see cref="TimeProvider"/>, so expiry is tested with a fake clock against Redis too.
/// </summary>
public abstract class ApprovalStoreContractTests
{
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));

    /// <summary>A new store that shares no records with any other test.</summary>
    protected abstract IApprovalStore CreateStore(ApprovalStoreOptions? options = null);

    protected ApprovalRecord NewRecord(string? subject = null, TimeSpan? ttl = null, string? callKey = null)
    {
        var now = Time.GetUtcNow();
        return new ApprovalRecord
        {
            Id = Guid.NewGuid().ToString("N"),
            Reason = ApprovalReason.Tier,
            Route = "crm-delete-customer",
            Action = "crm.customers:delete",
            Resource = "crm:customer/42",
            Tier = "critical",
            Risk = 50,
            Description = "Delete customer 42",
            Irreversible = true,
            Jti = "jti-" + Guid.NewGuid().ToString("N"),
            Subject = subject ?? "user:" + Guid.NewGuid().ToString("N"),
            Agent = "agent:planner",
            Actors = ["agent:planner", "agent:root"],
            TokenChain = ["jti-parent"],
            TokenExpires = now.AddHours(1),
            Grants = [new ApprovalGrant(["crm.customers:*"], ["crm:customer/**"])],
            Method = "DELETE",
            Path = "/crm/customers/42?why=gdpr",
            BodySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            BodyLength = 0,
            BodyPreview = "{\"password\":\"[redacted]\"}",
            Binding = ApprovalBinding.Token,
            CallKey = callKey ?? Guid.NewGuid().ToString("N"),
            PolicySha256 = new string('a', 64),
            TraceId = new string('b', 32),
            DecisionId = Guid.NewGuid().ToString("N"),
            CreatedAt = now,
            ExpiresAt = now + (ttl ?? TimeSpan.FromMinutes(15)),
        };
    }

    private static readonly ApprovalVerdict Approve = new(true, "key-1", "user:boss", "fine");
    private static readonly ApprovalVerdict Deny = new(false, "key-2", null, "wrong customer");

    [Fact]
    public async Task CreateAsync_ThenGet_RoundTripsEveryField()
    {
        var store = CreateStore();
        var record = NewRecord();

        var created = await store.CreateAsync(record, 10, CancellationToken.None);
        var read = await store.GetAsync(record.Id, CancellationToken.None);

        Assert.Equal(ApprovalCreateOutcome.Created, created.Outcome);
        Assert.NotNull(read);
        Assert.Equal(ApprovalState.Pending, read.State);
        Assert.Equal(record.Actors, read.Actors);
        Assert.Equal(record.Grants[0].Resources, read.Grants[0].Resources);
        Assert.Equal(record with { Actors = read.Actors, TokenChain = read.TokenChain, Grants = read.Grants }, read);
        Assert.Null(await store.GetAsync(Guid.NewGuid().ToString("N"), CancellationToken.None));
    }

    [Fact]
    public async Task CreateAsync_SameCallWhileOpen_ReturnsTheOpenRequest()
    {
        var store = CreateStore();
        var first = NewRecord();
        await store.CreateAsync(first, 10, CancellationToken.None);

        var again = await store.CreateAsync(NewRecord(first.Subject, callKey: first.CallKey), 10, CancellationToken.None);

        Assert.Equal(ApprovalCreateOutcome.Existing, again.Outcome);
        Assert.Equal(first.Id, again.Record!.Id);
        Assert.Single(await store.ListAsync(10, CancellationToken.None), r => r.Subject == first.Subject);
    }

    [Fact]
    public async Task CreateAsync_SameCallAfterUse_CreatesANewRequest()
    {
        var store = CreateStore();
        var first = NewRecord();
        await store.CreateAsync(first, 10, CancellationToken.None);
        await store.DecideAsync(first.Id, Approve, CancellationToken.None);
        await store.ConsumeAsync(first, "d1", CancellationToken.None);

        var again = await store.CreateAsync(NewRecord(first.Subject, callKey: first.CallKey), 10, CancellationToken.None);

        Assert.Equal(ApprovalCreateOutcome.Created, again.Outcome);
        Assert.NotEqual(first.Id, again.Record!.Id);
    }

    [Fact]
    public async Task CreateAsync_PastMaxOpen_IsRefusedUntilTheOldestExpires()
    {
        var store = CreateStore();
        var subject = "user:" + Guid.NewGuid().ToString("N");
        await store.CreateAsync(NewRecord(subject, ttl: TimeSpan.FromMinutes(5)), 2, CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(1));
        await store.CreateAsync(NewRecord(subject), 2, CancellationToken.None);

        var refused = await store.CreateAsync(NewRecord(subject), 2, CancellationToken.None);
        var otherSubject = await store.CreateAsync(NewRecord(), 2, CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(4));
        var later = await store.CreateAsync(NewRecord(subject), 2, CancellationToken.None);

        Assert.Equal(ApprovalCreateOutcome.TooManyOpen, refused.Outcome);
        Assert.Equal(TimeSpan.FromMinutes(4), refused.RetryAfter);
        Assert.Equal(ApprovalCreateOutcome.Created, otherSubject.Outcome);
        Assert.Equal(ApprovalCreateOutcome.Created, later.Outcome);
    }

    [Fact]
    public async Task DecideAsync_OnlyFromPending()
    {
        var store = CreateStore();
        var record = NewRecord();
        await store.CreateAsync(record, 10, CancellationToken.None);

        var approved = await store.DecideAsync(record.Id, Approve, CancellationToken.None);
        var deniedAfter = await store.DecideAsync(record.Id, Deny, CancellationToken.None);
        var missing = await store.DecideAsync("nope", Approve, CancellationToken.None);
        var read = await store.GetAsync(record.Id, CancellationToken.None);

        Assert.Equal(new ApprovalTransition(ApprovalTransitionOutcome.Done, ApprovalState.Approved), approved);
        Assert.Equal(new ApprovalTransition(ApprovalTransitionOutcome.WrongState, ApprovalState.Approved), deniedAfter);
        Assert.Equal(ApprovalTransitionOutcome.NotFound, missing.Outcome);
        Assert.Equal(ApprovalState.Approved, read!.State);
        Assert.Equal("key-1", read.DecidedBy);
        Assert.Equal("user:boss", read.DecidedBySubject);
        Assert.Equal("fine", read.Note);
        Assert.Equal(Time.GetUtcNow(), read.DecidedAt);
    }

    [Fact]
    public async Task DecideAsync_Deny_KeepsTheReason_AndCannotBeUsed()
    {
        var store = CreateStore();
        var record = NewRecord();
        await store.CreateAsync(record, 10, CancellationToken.None);

        await store.DecideAsync(record.Id, Deny, CancellationToken.None);
        var use = await store.ConsumeAsync(record, "d1", CancellationToken.None);
        var again = await store.CreateAsync(NewRecord(record.Subject, callKey: record.CallKey), 10, CancellationToken.None);

        Assert.Equal(new ApprovalTransition(ApprovalTransitionOutcome.WrongState, ApprovalState.Denied), use);
        var read = await store.GetAsync(record.Id, CancellationToken.None);
        Assert.Equal(ApprovalState.Denied, read!.State);
        Assert.Equal("wrong customer", read.Note);
        Assert.Null(read.DecidedBySubject);

        // Asking again for a denied call points at the denial instead of queueing it for a human again.
        Assert.Equal(ApprovalCreateOutcome.Existing, again.Outcome);
        Assert.Equal(record.Id, again.Record!.Id);
    }

    [Fact]
    public async Task DecideAsync_AfterExpiry_IsRefused_AndExpireMarksItOnce()
    {
        var store = CreateStore();
        var record = NewRecord(ttl: TimeSpan.FromMinutes(15));
        await store.CreateAsync(record, 10, CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(15));

        var decide = await store.DecideAsync(record.Id, Approve, CancellationToken.None);
        var expired = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => store.ExpireAsync(record.Id, CancellationToken.None).AsTask()));
        var read = await store.GetAsync(record.Id, CancellationToken.None);

        Assert.Equal(ApprovalTransitionOutcome.Expired, decide.Outcome);
        Assert.Single(expired, e => e);
        Assert.Equal(ApprovalState.Expired, read!.State);
    }

    [Fact]
    public async Task ExpireAsync_BeforeExpiry_ChangesNothing()
    {
        var store = CreateStore();
        var record = NewRecord();
        await store.CreateAsync(record, 10, CancellationToken.None);

        Assert.False(await store.ExpireAsync(record.Id, CancellationToken.None));
        Assert.Equal(ApprovalState.Pending, (await store.GetAsync(record.Id, CancellationToken.None))!.State);
        Assert.Equal(ApprovalState.Pending, (await store.GetAsync(record.Id, CancellationToken.None))!.EffectiveState(Time.GetUtcNow()));
        Assert.Equal(ApprovalState.Expired, record.EffectiveState(record.ExpiresAt));
    }

    [Fact]
    public async Task ConsumeAsync_FiftyConcurrentUses_AdmitExactlyOne()
    {
        var store = CreateStore();
        var record = NewRecord();
        await store.CreateAsync(record, 10, CancellationToken.None);
        await store.DecideAsync(record.Id, Approve, CancellationToken.None);

        var uses = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => Task.Run(() => store.ConsumeAsync(record, "decision-" + i, CancellationToken.None).AsTask())));

        Assert.Single(uses, u => u.Outcome == ApprovalTransitionOutcome.Done);
        Assert.All(uses.Where(u => u.Outcome != ApprovalTransitionOutcome.Done), u => Assert.Equal(ApprovalState.Used, u.State));
        var read = await store.GetAsync(record.Id, CancellationToken.None);
        Assert.Equal(ApprovalState.Used, read!.State);
        Assert.StartsWith("decision-", read.UsedBy, StringComparison.Ordinal);
        Assert.Equal(Time.GetUtcNow(), read.UsedAt);
    }

    [Fact]
    public async Task ConsumeAsync_Pending_OrExpired_IsRefused()
    {
        var store = CreateStore();
        var pending = NewRecord();
        var approved = NewRecord(ttl: TimeSpan.FromMinutes(1));
        await store.CreateAsync(pending, 10, CancellationToken.None);
        await store.CreateAsync(approved, 10, CancellationToken.None);
        await store.DecideAsync(approved.Id, Approve, CancellationToken.None);

        var usePending = await store.ConsumeAsync(pending, "d1", CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(1));
        var useExpired = await store.ConsumeAsync(approved, "d2", CancellationToken.None);

        Assert.Equal(new ApprovalTransition(ApprovalTransitionOutcome.WrongState, ApprovalState.Pending), usePending);
        Assert.Equal(ApprovalTransitionOutcome.Expired, useExpired.Outcome);
    }

    [Fact]
    public async Task ReleaseAsync_ByTheUser_MakesItUsableAgain_ByAnotherDoesNothing()
    {
        var store = CreateStore();
        var record = NewRecord();
        await store.CreateAsync(record, 10, CancellationToken.None);
        await store.DecideAsync(record.Id, Approve, CancellationToken.None);
        await store.ConsumeAsync(record, "d1", CancellationToken.None);

        var byOther = await store.ReleaseAsync(record, "d2", CancellationToken.None);
        var byUser = await store.ReleaseAsync(record, "d1", CancellationToken.None);
        var twice = await store.ReleaseAsync(record, "d1", CancellationToken.None);
        var reuse = await store.ConsumeAsync(record, "d3", CancellationToken.None);
        var sameCall = await store.CreateAsync(NewRecord(record.Subject, callKey: record.CallKey), 10, CancellationToken.None);

        Assert.False(byOther);
        Assert.True(byUser);
        Assert.False(twice);
        Assert.Equal(ApprovalTransitionOutcome.Done, reuse.Outcome);
        Assert.Equal("d3", (await store.GetAsync(record.Id, CancellationToken.None))!.UsedBy);

        // Released before its reuse, the call key pointed at the approval again until that reuse.
        Assert.Equal(ApprovalCreateOutcome.Created, sameCall.Outcome);
    }

    [Fact]
    public async Task ListAsync_NewestFirst_AndForgetsAfterRetention()
    {
        var store = CreateStore(new ApprovalStoreOptions { Retention = TimeSpan.FromMinutes(10) });
        var subject = "user:" + Guid.NewGuid().ToString("N");
        var old = NewRecord(subject, ttl: TimeSpan.FromMinutes(5));
        await store.CreateAsync(old, 10, CancellationToken.None);
        Time.Advance(TimeSpan.FromSeconds(1));
        var fresh = NewRecord(subject, ttl: TimeSpan.FromMinutes(30));
        await store.CreateAsync(fresh, 10, CancellationToken.None);

        var both = (await store.ListAsync(100, CancellationToken.None)).Where(r => r.Subject == subject).ToList();
        Time.Advance(TimeSpan.FromMinutes(15));
        var afterRetention = (await store.ListAsync(100, CancellationToken.None)).Where(r => r.Subject == subject).ToList();

        Assert.Equal([fresh.Id, old.Id], both.Select(r => r.Id));
        Assert.Equal([fresh.Id], afterRetention.Select(r => r.Id));
        Assert.Null(await store.GetAsync(old.Id, CancellationToken.None));
    }
}
