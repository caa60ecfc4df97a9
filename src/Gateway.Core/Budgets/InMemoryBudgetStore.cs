namespace Gateway.Budgets;

/// <summary>
/// The embedded default: budgets held in this process, for a single replica. Every operation runs under
/// one lock, which makes check-and-consume exact under any concurrency; a charge holds it for a few
/// dictionary lookups, far less than the rest of a request costs. Expired accounts are treated as absent
/// at once and swept out at most every <see cref="BudgetStoreOptions.SweepInterval"/>, so memory stays
/// bounded by what live tokens and current windows need.
/// </summary>
public sealed class InMemoryBudgetStore : IBudgetStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<AccountKey, StepAccount> _steps = [];
    private readonly Dictionary<AccountKey, RiskAccount> _risk = [];
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _expiryGrace;
    private readonly TimeSpan _sweepInterval;
    private DateTimeOffset _nextSweep;

    public InMemoryBudgetStore(BudgetStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new BudgetStoreOptions();
        options.Validate();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _expiryGrace = options.ExpiryGrace;
        _sweepInterval = options.SweepInterval;
        _nextSweep = _timeProvider.GetUtcNow() + _sweepInterval;
    }

    /// <summary>Accounts held, expired or not; lets tests see that expired ones are swept out.</summary>
    internal int AccountCount
    {
        get
        {
            lock (_lock)
            {
                return _steps.Count + _risk.Count;
            }
        }
    }

    public ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(charge);
        charge.Validate();
        cancellationToken.ThrowIfCancellationRequested();

        var ancestors = charge.DistinctAncestors();
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            SweepIfDue(now);
            return ValueTask.FromResult(Charge(charge, ancestors, now));
        }
    }

    public ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentException.ThrowIfNullOrEmpty(agent);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            var snapshot = new BudgetSnapshot { Subject = subject, Agent = agent, Jti = jti };
            if (Live(_risk, new AccountKey(subject, agent), now) is { } risk)
            {
                snapshot = snapshot with
                {
                    RiskUsed = risk.Used,
                    RiskLimit = risk.Limit,
                    RiskRemaining = Remaining(risk.Limit, risk.Used),
                    RiskWindowEnds = DateTimeOffset.FromUnixTimeMilliseconds(risk.WindowStartMs + risk.WindowMs),
                };
            }

            if (jti is not null && Live(_steps, new AccountKey(subject, jti), now) is { } steps)
            {
                snapshot = snapshot with
                {
                    StepsUsed = steps.Used,
                    StepsLimit = steps.Max,
                    StepsRemaining = Remaining(steps.Max, steps.Used),
                };
            }

            return ValueTask.FromResult(snapshot);
        }
    }

    public ValueTask<bool> PingAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);

    // Mirrors the Redis script step by step (read everything, decide, then write), so the two stores
    // agree on every number; the contract tests hold them to it.
    private BudgetResult Charge(BudgetCharge charge, IReadOnlyList<string> ancestors, DateTimeOffset now)
    {
        var ownKey = new AccountKey(charge.Subject, charge.Jti);
        var own = Live(_steps, ownKey, now);

        // The token's own limit is authoritative: it is signed into the token, whereas an account
        // opened by a child only guessed it with the default.
        var stepsLeft = (long)charge.MaxSteps - (own?.Used ?? 0);
        string? exhausted = stepsLeft <= 0 ? charge.Jti : null;
        var ancestorAccounts = new StepAccount?[ancestors.Count];
        for (var i = 0; i < ancestors.Count; i++)
        {
            var account = Live(_steps, new AccountKey(charge.Subject, ancestors[i]), now);
            ancestorAccounts[i] = account;
            var left = (long)(account?.Max ?? charge.DefaultSteps) - (account?.Used ?? 0);
            stepsLeft = Math.Min(stepsLeft, left);
            if (left <= 0)
            {
                exhausted ??= ancestors[i];
            }
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        var windowMs = FixedWindow.ToMilliseconds(charge.RiskWindow);
        var windowStartMs = FixedWindow.StartMs(nowMs, windowMs);
        var riskKey = new AccountKey(charge.Subject, charge.Agent);
        var risk = Live(_risk, riskKey, now);
        long riskUsed = 0;
        if (risk is not null && risk.WindowStartMs >= windowStartMs)
        {
            // A window already opened is kept even if this clock says an earlier one is current.
            windowStartMs = risk.WindowStartMs;
            riskUsed = risk.Used;
        }

        if (exhausted is not null)
        {
            return new BudgetResult
            {
                Outcome = BudgetOutcome.StepLimitExceeded,
                StepsRemaining = 0,
                RiskRemaining = Remaining(charge.RiskLimit, riskUsed),
                ExhaustedJti = exhausted,
            };
        }

        if (!charge.BypassRiskLimit && riskUsed + charge.Risk > charge.RiskLimit)
        {
            return new BudgetResult
            {
                Outcome = BudgetOutcome.RiskLimitExceeded,
                StepsRemaining = Clamp(stepsLeft),
                RiskRemaining = Remaining(charge.RiskLimit, riskUsed),
                RetryAfter = TimeSpan.FromMilliseconds(windowStartMs + windowMs - nowMs),
            };
        }

        // Accounts live until the latest expiry of any token charged to them, so an ancestor opened by
        // a short-lived child is not forgotten (and refilled) while a longer-lived sibling still uses it.
        var expires = charge.TokenExpires + _expiryGrace;
        own ??= _steps[ownKey] = new StepAccount();
        own.Max = charge.MaxSteps;
        own.Consume(expires);
        for (var i = 0; i < ancestors.Count; i++)
        {
            var account = ancestorAccounts[i]
                ?? (_steps[new AccountKey(charge.Subject, ancestors[i])] = new StepAccount { Max = charge.DefaultSteps });
            account.Consume(expires);
        }

        riskUsed += charge.Risk;
        if (charge.Risk > 0)
        {
            risk ??= _risk[riskKey] = new RiskAccount();
            risk.WindowStartMs = windowStartMs;
            risk.WindowMs = windowMs;
            risk.Limit = charge.RiskLimit;
            risk.Used = (int)Math.Min(riskUsed, int.MaxValue);
            risk.Expires = DateTimeOffset.FromUnixTimeMilliseconds(windowStartMs + windowMs);
        }

        return new BudgetResult
        {
            Outcome = BudgetOutcome.Allowed,
            StepsRemaining = Clamp(stepsLeft - 1),
            RiskRemaining = Remaining(charge.RiskLimit, riskUsed),
        };
    }

    private static TAccount? Live<TAccount>(Dictionary<AccountKey, TAccount> accounts, AccountKey key, DateTimeOffset now)
        where TAccount : Account
    {
        if (!accounts.TryGetValue(key, out var account))
        {
            return null;
        }

        if (account.Expires > now)
        {
            return account;
        }

        accounts.Remove(key);
        return null;
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + _sweepInterval;
        Sweep(_steps, now);
        Sweep(_risk, now);

        static void Sweep<TAccount>(Dictionary<AccountKey, TAccount> accounts, DateTimeOffset now)
            where TAccount : Account
        {
            foreach (var (key, account) in accounts)
            {
                if (account.Expires <= now)
                {
                    accounts.Remove(key);
                }
            }
        }
    }

    private static int Remaining(long limit, long used) => Clamp(limit - used);

    private static int Clamp(long value) => (int)Math.Clamp(value, 0, int.MaxValue);

    // Keyed by subject as well as jti or agent, like the Redis keys, so both stores separate accounts alike.
    private readonly record struct AccountKey(string Subject, string Id);

    private abstract class Account
    {
        public DateTimeOffset Expires { get; set; }
    }

    private sealed class StepAccount : Account
    {
        public int Max { get; set; }
        public int Used { get; private set; }

        public void Consume(DateTimeOffset expires)
        {
            Used++;
            if (expires > Expires)
            {
                Expires = expires;
            }
        }
    }

    private sealed class RiskAccount : Account
    {
        public long WindowStartMs { get; set; }
        public long WindowMs { get; set; }
        public int Limit { get; set; }
        public int Used { get; set; }
    }
}
