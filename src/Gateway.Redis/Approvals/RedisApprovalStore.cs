using System.Globalization;
using Gateway.Approvals;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Redis.Approvals;

/// <summary>
/// Approvals in Redis, shared by every gateway replica. Each state change is one Lua script
/// (<see cref="ApprovalScripts"/>), so "used once" holds across replicas. Every key carries a TTL:
/// a record is forgotten <see cref="ApprovalStoreOptions.Retention"/> after it expires.
/// </summary>
public sealed partial class RedisApprovalStore : IApprovalStore
{
    private static readonly RedisValue[] StateFields = ["data", "state", "at", "by", "bysub", "note", "used", "usedby"];

    private readonly IDatabase _database;
    private readonly ApprovalKeys _keys;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _retention;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    /// <summary>Uses <paramref name="connection"/>, the process's one shared multiplexer (see <see cref="GatewayRedisConnection"/>).</summary>
    public RedisApprovalStore(
        IConnectionMultiplexer connection,
        ApprovalStoreOptions? options = null,
        ILogger<RedisApprovalStore>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new ApprovalStoreOptions();
        options.Validate();
        _database = connection.GetDatabase();
        _keys = new ApprovalKeys(options.KeyPrefix);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _retention = options.Retention;
        _timeout = options.Timeout;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public async ValueTask<ApprovalCreateResult> CreateAsync(ApprovalRecord record, int maxOpen, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOpen, 1);
        var now = _timeProvider.GetUtcNow();
        var stored = record with { State = ApprovalState.Pending };
        var untilExpiry = Math.Max(Ms(record.ExpiresAt - now), 1);
        RedisKey[] keys = [_keys.Record(record.Id), _keys.Index, _keys.Call(record.CallKey), _keys.Open(record.Subject, record.Agent)];
        RedisValue[] args =
        [
            record.Id,
            ApprovalRecordJson.Serialize(stored),
            record.ExpiresAt.ToUnixTimeMilliseconds(),
            untilExpiry + Ms(_retention),
            now.ToUnixTimeMilliseconds(),
            maxOpen,
            (record.ExpiresAt + _retention).ToUnixTimeMilliseconds(),
            untilExpiry,
        ];

        var reply = (RedisResult[]?)await CallAsync(_database.ScriptEvaluateAsync(ApprovalScripts.Create, keys, args), cancellationToken);
        if (reply is not { Length: 2 })
        {
            throw new ApprovalStoreUnavailableException("The approval store answered a create with an unexpected reply.");
        }

        switch ((int)reply[0])
        {
            case 0:
                return new ApprovalCreateResult(ApprovalCreateOutcome.Created, stored);
            case 1:
                var existing = await GetAsync((string)reply[1]!, cancellationToken);
                return existing is null
                    ? throw new ApprovalStoreUnavailableException("The approval store lost a record while it was read.")
                    : new ApprovalCreateResult(ApprovalCreateOutcome.Existing, existing);
            default:
                var oldest = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)reply[1]!, NumberStyles.Integer, CultureInfo.InvariantCulture));
                return new ApprovalCreateResult(ApprovalCreateOutcome.TooManyOpen, null, oldest - now);
        }
    }

    public async ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var values = await CallAsync(_database.HashGetAsync(_keys.Record(id), StateFields), cancellationToken);
        return Parse(values);
    }

    public async ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var ids = await CallAsync(_database.SortedSetRangeByRankAsync(_keys.Index, 0, limit - 1, Order.Descending), cancellationToken);

        // One round trip for all records: the reads are sent before any is awaited.
        var reads = ids.Select(id => _database.HashGetAsync(_keys.Record((string)id!), StateFields)).ToArray();
        var replies = await CallAsync(Task.WhenAll(reads), cancellationToken);
        return replies.Select(Parse).OfType<ApprovalRecord>()
            .OrderByDescending(r => r.CreatedAt)
            .ThenByDescending(r => r.Id, StringComparer.Ordinal)
            .ToList();
    }

    public async ValueTask<ApprovalTransition> DecideAsync(string id, ApprovalVerdict verdict, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(verdict);
        RedisValue[] args =
        [
            _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            verdict.Approve ? "approved" : "denied",
            verdict.DecidedBy,
            verdict.DecidedBySubject ?? "",
            verdict.Note ?? "",
        ];
        return await TransitionAsync(ApprovalScripts.Decide, [_keys.Record(id)], args, cancellationToken);
    }

    public async ValueTask<ApprovalTransition> ConsumeAsync(ApprovalRecord record, string decisionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(decisionId);
        RedisValue[] args = [_timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), decisionId, record.Id];
        return await TransitionAsync(ApprovalScripts.Consume, [_keys.Record(record.Id), _keys.Call(record.CallKey)], args, cancellationToken);
    }

    public async ValueTask<bool> ReleaseAsync(ApprovalRecord record, string decisionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(decisionId);
        RedisValue[] args = [decisionId, record.Id, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds()];
        var reply = await CallAsync(_database.ScriptEvaluateAsync(ApprovalScripts.Release, [_keys.Record(record.Id), _keys.Call(record.CallKey)], args), cancellationToken);
        return (int)reply == 1;
    }

    public async ValueTask<bool> ExpireAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        RedisValue[] args = [_timeProvider.GetUtcNow().ToUnixTimeMilliseconds()];
        var reply = await CallAsync(_database.ScriptEvaluateAsync(ApprovalScripts.Expire, [_keys.Record(id)], args), cancellationToken);
        return (int)reply == 1;
    }

    private async Task<ApprovalTransition> TransitionAsync(string script, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        var reply = (RedisResult[]?)await CallAsync(_database.ScriptEvaluateAsync(script, keys, args), cancellationToken);
        if (reply is not { Length: 2 })
        {
            throw new ApprovalStoreUnavailableException("The approval store answered a change with an unexpected reply.");
        }

        ApprovalState? state = ApprovalNames.TryParseState((string?)reply[1], out var parsed) ? parsed : null;
        return (int)reply[0] switch
        {
            0 => new ApprovalTransition(ApprovalTransitionOutcome.NotFound, null),
            1 => new ApprovalTransition(ApprovalTransitionOutcome.Done, state),
            2 => new ApprovalTransition(ApprovalTransitionOutcome.WrongState, state),
            _ => new ApprovalTransition(ApprovalTransitionOutcome.Expired, ApprovalState.Expired),
        };
    }

    // Redis forgets a record by its TTL; this replica's clock decides too, so both stores forget alike
    // even when the gateways' clock and Redis's disagree.
    private ApprovalRecord? Parse(RedisValue[] values)
    {
        if (values[0].IsNull || ApprovalRecordJson.Deserialize((string)values[0]!) is not { } record
            || !ApprovalNames.TryParseState((string?)values[1], out var state)
            || record.ExpiresAt + _retention <= _timeProvider.GetUtcNow())
        {
            return null;
        }

        return record with
        {
            State = state,
            DecidedAt = Time(values[2]),
            DecidedBy = Text(values[3]),
            DecidedBySubject = Text(values[4]),
            Note = Text(values[5]),
            UsedAt = Time(values[6]),
            UsedBy = Text(values[7]),
        };

        static string? Text(RedisValue value) => value.IsNullOrEmpty ? null : (string?)value;

        static DateTimeOffset? Time(RedisValue value) =>
            !value.IsNull && value.TryParse(out long ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    private static long Ms(TimeSpan span) => (long)Math.Ceiling(span.TotalMilliseconds);

    // StackExchange.Redis commands take no CancellationToken: waiting is bounded and cancellable here.
    private async Task<T> CallAsync<T>(Task<T> command, CancellationToken cancellationToken)
    {
        try
        {
            return await command.WaitAsync(_timeout, _timeProvider, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or TimeoutException)
        {
            LogStoreFailed(_logger, ex);
            throw new ApprovalStoreUnavailableException("The Redis approval store could not be reached.", ex);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Redis approval store call failed.")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);
}
