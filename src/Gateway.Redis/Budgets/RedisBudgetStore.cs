using System.Runtime.CompilerServices;
using Gateway.Budgets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Redis.Budgets;

/// <summary>
/// Budgets in Redis, shared by every gateway replica. A charge is one Lua script (<see cref="ChargeScript"/>),
/// so it is atomic across replicas and costs one round trip: <c>EVALSHA</c> with the script's SHA1,
/// computed once, and the whole text (<c>EVAL</c>) only when Redis answers <c>NOSCRIPT</c> (its first call,
/// or after a restart). The SHA1 is sent rather than the text handed to the client on every call, because
/// StackExchange.Redis would hash the 3 KB text to find its SHA1 on each one. Charges that arrive while
/// a call is in flight go out together in the next one (<see cref="ChargeBatcher"/>, unless
/// <see cref="BudgetStoreOptions.CoalesceCharges"/> is off). Every key carries a TTL, so Redis forgets
/// accounts by itself.
/// Failures surface as <see cref="BudgetStoreUnavailableException"/>; wrap this store in
/// <see cref="ResilientBudgetStore"/> for the timeout and circuit breaker.
/// </summary>
/// <remarks>
/// Budgets are as durable as Redis: a Redis that restarts empty (no AOF or replica) forgets what was
/// used, and it must not evict keys (<c>maxmemory-policy noeviction</c>), or budgets refill early.
/// </remarks>
public sealed partial class RedisBudgetStore : IBudgetStore
{
    private static readonly RedisValue[] RiskFields = ["w", "win", "lim", "used"];
    private static readonly RedisValue[] StepFields = ["max", "used"];

    private readonly IDatabase _database;
    private readonly BudgetKeys _keys;

    // The keys of a token's own accounts, computed once per validated token rather than per call (three
    // SHA-256 digests and three strings). Keyed by the jti string instance the token cache hands out
    // again and again, so an entry lives exactly as long as its cached token.
    private readonly ConditionalWeakTable<string, OwnKeys> _ownKeys = [];
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _expiryGrace;
    private readonly ILogger _logger;
    private readonly IConnectionMultiplexer _connection;

    // One batcher per Redis Cluster slot (one in all, -1, on a standalone Redis or with Sentinel), so
    // that every key of one script call is in one slot; null when charges are not coalesced.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, ChargeBatcher>? _batchers;
    private readonly Func<int, ChargeBatcher>? _newBatcher;

    /// <summary>Uses <paramref name="connection"/>, the process's one shared multiplexer (see <see cref="GatewayRedisConnection"/>).</summary>
    public RedisBudgetStore(
        IConnectionMultiplexer connection,
        BudgetStoreOptions? options = null,
        ILogger<RedisBudgetStore>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new BudgetStoreOptions();
        options.Validate();
        _connection = connection;
        _database = connection.GetDatabase();
        if (options.CoalesceCharges)
        {
            _batchers = new();
            _newBatcher = _ => new ChargeBatcher(EvaluateAsync);
        }
        _keys = new BudgetKeys(options.KeyPrefix);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _expiryGrace = options.ExpiryGrace;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(charge);
        charge.Validate();

        var ancestors = charge.DistinctAncestors();
        var own = OwnKeysOf(charge);
        var keys = new RedisKey[ChargeScript.OwnStepsKey + 1 + ancestors.Count];
        keys[ChargeScript.RiskKey] = own.Risk;
        keys[ChargeScript.OwnStepsKey] = own.Steps;
        for (var i = 0; i < ancestors.Count; i++)
        {
            keys[ChargeScript.OwnStepsKey + 1 + i] = _keys.Steps(own.SubjectTag, ancestors[i]);
        }

        // TTLs are sent relative to this replica's clock, so a Redis whose clock differs cannot shorten them.
        var now = _timeProvider.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var windowMs = FixedWindow.ToMilliseconds(charge.RiskWindow);
        var stepExpires = charge.TokenExpires + _expiryGrace;
        var stepTtlMs = Math.Max(FixedWindow.ToMilliseconds(stepExpires - now), 1);
        RedisValue[] args =
        [
            keys.Length,
            charge.MaxSteps,
            charge.DefaultSteps,
            stepTtlMs,
            charge.Risk,
            charge.RiskLimit,
            FixedWindow.StartMs(nowMs, windowMs),
            windowMs,
            nowMs,
            charge.BypassRiskLimit ? 1 : 0,
            stepExpires.ToUnixTimeMilliseconds(),
        ];

        ChargeReply reply;
        if (_batchers is null)
        {
            var values = (long[]?)await CallAsync(EvaluateAsync(keys, args), cancellationToken);
            if (values is not { Length: ChargeScript.RepliesPerCharge })
            {
                throw new BudgetStoreUnavailableException("The budget store answered the charge with an unexpected reply.");
            }

            reply = new ChargeReply(values[0], values[1], values[2], values[3], values[4]);
        }
        else
        {
            var batcher = _batchers.GetOrAdd(_connection.HashSlot(keys[ChargeScript.RiskKey]), _newBatcher!);
            var pending = batcher.ChargeAsync(keys, args, cancellationToken);
            reply = await (cancellationToken.CanBeCanceled ? pending.WaitAsync(cancellationToken) : pending);
        }

        var outcome = reply.Outcome switch
        {
            0 => BudgetOutcome.Allowed,
            1 => BudgetOutcome.StepLimitExceeded,
            _ => BudgetOutcome.RiskLimitExceeded,
        };
        return new BudgetResult
        {
            Outcome = outcome,
            StepsRemaining = Clamp(reply.StepsLeft),
            RiskRemaining = Clamp(reply.RiskLeft),
            ExhaustedJti = reply.Exhausted switch
            {
                1 => charge.Jti,
                > 1 => ancestors[(int)reply.Exhausted - 2],
                _ => null,
            },
            RetryAfter = outcome == BudgetOutcome.RiskLimitExceeded
                ? TimeSpan.FromMilliseconds(reply.WindowStart + windowMs - nowMs)
                : null,
        };
    }

    // One script call, by SHA1; the whole text only after NOSCRIPT.
    private async Task<RedisResult> EvaluateAsync(RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await Translate(_database.ScriptEvaluateAsync(ChargeScript.Sha1, keys, args));
        }
        catch (BudgetStoreUnavailableException ex) when (ex.InnerException is RedisServerException server
            && server.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // The first charge after Redis (re)started: the script never ran, so sending it whole is not a
            // second charge. EVAL loads it into the script cache, and the next call's EVALSHA finds it.
            return await Translate(_database.ScriptEvaluateAsync(ChargeScript.Text, keys, args));
        }
    }

    public async ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentException.ThrowIfNullOrEmpty(agent);

        var tag = BudgetKeys.SubjectTag(subject);

        // Both reads are sent before either is awaited, so they share one round trip.
        var riskRead = _database.HashGetAsync(_keys.Risk(tag, agent), RiskFields);
        Task<RedisValue[]>[] reads = jti is null ? [riskRead] : [riskRead, _database.HashGetAsync(_keys.Steps(tag, jti), StepFields)];
        var replies = await CallAsync(Task.WhenAll(reads), cancellationToken);
        var risk = replies[0];
        var steps = jti is null ? null : replies[1];

        var snapshot = new BudgetSnapshot { Subject = subject, Agent = agent, Jti = jti };
        var nowMs = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        if (TryParse(risk[0], out var windowStart) && TryParse(risk[1], out var windowMs)
            && windowStart + windowMs > nowMs
            && TryParse(risk[2], out var limit) && TryParse(risk[3], out var used))
        {
            snapshot = snapshot with
            {
                RiskUsed = Clamp(used),
                RiskLimit = Clamp(limit),
                RiskRemaining = Clamp(limit - used),
                RiskWindowEnds = DateTimeOffset.FromUnixTimeMilliseconds(windowStart + windowMs),
            };
        }

        if (steps is not null && TryParse(steps[0], out var max) && TryParse(steps[1], out var stepsUsed))
        {
            snapshot = snapshot with
            {
                StepsUsed = Clamp(stepsUsed),
                StepsLimit = Clamp(max),
                StepsRemaining = Clamp(max - stepsUsed),
            };
        }

        return snapshot;
    }

    public async ValueTask<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(_database.PingAsync(), cancellationToken);
            return true;
        }
        catch (BudgetStoreUnavailableException)
        {
            return false;
        }
    }

    // StackExchange.Redis commands take no CancellationToken: waiting is made cancellable here, so a
    // caller's timeout returns at once (the command itself may still complete on the server).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> CallAsync<T>(Task<T> command, CancellationToken cancellationToken)
    {
        try
        {
            return await (cancellationToken.CanBeCanceled ? command.WaitAsync(cancellationToken) : command);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new BudgetStoreUnavailableException("The Redis budget store could not be reached.", ex);
        }
    }

    private async Task<T> Translate<T>(Task<T> command)
    {
        try
        {
            return await command;
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new BudgetStoreUnavailableException("The Redis budget store could not be reached.", ex);
        }
    }

    private OwnKeys OwnKeysOf(BudgetCharge charge)
    {
        if (_ownKeys.TryGetValue(charge.Jti, out var cached)
            && string.Equals(cached.Subject, charge.Subject, StringComparison.Ordinal)
            && string.Equals(cached.Agent, charge.Agent, StringComparison.Ordinal))
        {
            return cached;
        }

        var tag = BudgetKeys.SubjectTag(charge.Subject);
        var own = new OwnKeys(charge.Subject, charge.Agent, tag, _keys.Risk(tag, charge.Agent), _keys.Steps(tag, charge.Jti));
        _ownKeys.AddOrUpdate(charge.Jti, own);
        return own;
    }

    // A missing field reads as RedisValue.Null, which TryParse would take for 0.
    private static bool TryParse(RedisValue value, out long number)
    {
        number = 0;
        return !value.IsNull && value.TryParse(out number);
    }

    private static int Clamp(long value) => (int)Math.Clamp(value, 0, int.MaxValue);

    // Debug only: while Redis is down every call fails, and the circuit breaker already logs the outage once.
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Redis budget store call failed.")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);

    private sealed record OwnKeys(string Subject, string Agent, string SubjectTag, RedisKey Risk, RedisKey Steps);
}
