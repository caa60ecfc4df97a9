using System.Globalization;
using Gateway.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Redis.Audit;

/// <summary>
/// Audit events in a Redis Stream, so several replicas feed one place: each entry has one field,
/// <c>event</c>, holding the event's JSON line; the stream is bounded by <c>XADD MAXLEN</c>. Each
/// replica's head (last seq and hash) is kept beside the stream, so a restarted replica continues its
/// chain and a retried batch is not added twice (<see cref="AppendScript"/>).
/// </summary>
/// <remarks>
/// Failures are thrown as they come; <see cref="AuditWriter"/> retries them with backoff. Reading the
/// stream back: <c>XRANGE key - +</c> and take the <c>event</c> field of each entry, in order; the lines
/// verify with <see cref="AuditVerifier"/> (with <see cref="AuditVerifierOptions.RequireChainStart"/>
/// off once trimming has dropped the start).
/// </remarks>
public sealed partial class RedisStreamAuditSink : IAuditSink
{
    private readonly IDatabase _database;
    private readonly RedisStreamAuditSinkOptions _options;
    private readonly RedisKey _stream;
    private readonly ILogger _logger;

    /// <summary>Uses <paramref name="connection"/>, the process's one shared multiplexer (see <see cref="GatewayRedisConnection"/>).</summary>
    public RedisStreamAuditSink(IConnectionMultiplexer connection, RedisStreamAuditSinkOptions options, ILogger<RedisStreamAuditSink>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _database = connection.GetDatabase();
        _options = options;
        _stream = options.StreamKey;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public string Name => "redis";

    /// <summary>
    /// The key holding <paramref name="replica"/>'s head: in the stream's Redis Cluster slot, so the
    /// script's two keys never span slots. A stream key with a hash tag (<c>{audit}:stream</c>) keeps it;
    /// one without is wrapped in one (<c>{gateway:audit}:head:REPLICA</c> hashes as <c>gateway:audit</c>).
    /// </summary>
    public static string HeadKey(string streamKey, string replica)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamKey);
        ArgumentException.ThrowIfNullOrEmpty(replica);
        return HasHashTag(streamKey) || streamKey.Contains('}', StringComparison.Ordinal)
            ? streamKey + ":head:" + replica
            : "{" + streamKey + "}:head:" + replica;
    }

    public async ValueTask<AuditChainHead?> ReadHeadAsync(string replica, CancellationToken cancellationToken)
    {
        var head = (string?)await _database.StringGetAsync(HeadKey(_options.StreamKey, replica)).WaitAsync(cancellationToken);
        if (head is null)
        {
            return null;
        }

        var parts = head.Split(' ');
        if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return new AuditChainHead(replica, seq, parts[1]);
        }

        LogMalformedHead(_logger, _options.StreamKey, replica);
        return null;
    }

    public async ValueTask WriteAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        // A batch is one replica's (the writer's); its head key follows from the first record.
        var keys = new RedisKey[] { _stream, HeadKey(_options.StreamKey, batch[0].Replica) };
        var args = new RedisValue[3 + (3 * batch.Count)];
        args[0] = _options.MaxLength;
        args[1] = _options.ExactTrim ? "=" : "~";
        args[2] = (long)_options.HeadTtl.TotalMilliseconds;
        for (var i = 0; i < batch.Count; i++)
        {
            args[3 + (3 * i)] = batch[i].Seq;
            args[4 + (3 * i)] = batch[i].Hash;
            args[5 + (3 * i)] = batch[i].Utf8Json;
        }

        await _database.ScriptEvaluateAsync(AppendScript.Text, keys, args).WaitAsync(cancellationToken);
    }

    /// <summary>Nothing to do: every write is acknowledged by Redis before it returns (durability is Redis's AOF setting).</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private static bool HasHashTag(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return false;
        }

        var close = key.IndexOf('}', open + 1);
        return close > open + 1;
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Audit head of replica {Replica} in stream {Stream} is malformed; the chain starts again from what the other sinks hold.")]
    private static partial void LogMalformedHead(ILogger logger, string stream, string replica);
}
