using System.Threading.Channels;
using Gateway.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Audit;

/// <summary>
/// Takes audit events on the request path and writes them, chained, to the sinks off it. Events wait
/// in a bounded queue; one consumer chains them (<c>seq</c>, <c>prev_hash</c>, <c>hash</c>) and writes
/// batches to every sink in turn. When the sinks fall behind, the queue fills and
/// <see cref="WriteAsync"/> waits for room: the gateway slows down rather than lose events. Nothing
/// is dropped silently; an event that cannot be queued is counted, logged and recorded by an
/// <c>audit.dropped</c> admin event in the chain.
/// </summary>
/// <remarks>
/// A failing sink is retried with backoff, for as long as it takes, and the batch waits for it, so
/// every sink receives the same chain in the same order. While it waits the queue fills, and once
/// full, requests wait too: a gateway that cannot audit stops rather than acts unaudited. Callers
/// bound that wait with the request's cancellation token.
/// </remarks>
public sealed partial class AuditWriter : IHostedService, IAsyncDisposable
{
    private readonly Channel<AuditEvent> _queue;
    private readonly IAuditSink[] _sinks;
    private readonly AuditWriterOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    // Cancelled only when a stop runs out of time: it ends retries and waits that would never finish.
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _lifecycle = new();
    private Task? _consumer;
    private IDisposable? _depthRegistration;
    private AuditChainHead? _head;
    private long _written;
    private long _sinkErrors;
    private long _dropped;
    private long _droppedUnreported;
    private int _inFlight;

    public AuditWriter(
        IEnumerable<IAuditSink> sinks,
        AuditWriterOptions? options = null,
        ILogger<AuditWriter>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        options ??= new AuditWriterOptions();
        options.Validate();
        _sinks = [.. sinks];
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _queue = Channel.CreateBounded<AuditEvent>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    public string Replica => _options.Replica;

    /// <summary>Events queued and not yet taken by the consumer.</summary>
    public int QueueDepth => _queue.Reader.Count;

    /// <summary>Events written to every sink.</summary>
    public long EventsWritten => Interlocked.Read(ref _written);

    /// <summary>Failed sink writes so far (each was retried).</summary>
    public long SinkErrors => Interlocked.Read(ref _sinkErrors);

    /// <summary>Events that could not be queued or serialized.</summary>
    public long DroppedEvents => Interlocked.Read(ref _dropped);

    /// <summary>The last event written to every sink, or null before the first.</summary>
    public AuditChainHead? Head => Volatile.Read(ref _head);

    /// <summary>
    /// Queues <paramref name="auditEvent"/>. Completes at once while the queue has room; when it is full,
    /// waits for room (backpressure). Completing means queued, not yet stored.
    /// </summary>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> fired while waiting for room; the event is not written, and
    /// the drop is counted, logged and audited.
    /// </exception>
    /// <exception cref="InvalidOperationException">The writer has stopped; the drop is counted and logged.</exception>
    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        return _queue.Writer.TryWrite(auditEvent) ? ValueTask.CompletedTask : WaitForRoomAsync(auditEvent, cancellationToken);
    }

    /// <summary>Starts the consumer; returns at once (resuming the chain happens in the background).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        EnsureStarted();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops taking events, writes every queued event, and flushes the sinks. When
    /// <paramref name="cancellationToken"/> fires first (a sink is down), gives up and logs how many
    /// events were not written.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();

        // Events queued before a start must still be written.
        var consumer = EnsureStarted();
        try
        {
            await consumer.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _abort.CancelAsync();
            await consumer;
        }
        finally
        {
            lock (_lifecycle)
            {
                _depthRegistration?.Dispose();
                _depthRegistration = null;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(_options.DisposeTimeout, _timeProvider))
        {
            await StopAsync(timeout.Token);
        }

        _abort.Dispose();
    }

    private Task EnsureStarted()
    {
        lock (_lifecycle)
        {
            if (_consumer is null)
            {
                _depthRegistration = GatewayTelemetry.TrackAuditQueue(() => _queue.Reader.Count);
                _consumer = Task.Run(ConsumeAsync);
            }

            return _consumer;
        }
    }

    private async ValueTask WaitForRoomAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(auditEvent, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            RecordDrop(auditEvent, "the caller stopped waiting for room in the full queue", audited: true);
            throw;
        }
        catch (ChannelClosedException ex)
        {
            RecordDrop(auditEvent, "the writer has stopped", audited: false);
            throw new InvalidOperationException("The audit writer has stopped; the event was not written.", ex);
        }
    }

    private void RecordDrop(AuditEvent auditEvent, string why, bool audited)
    {
        Interlocked.Increment(ref _dropped);
        GatewayTelemetry.RecordAuditDropped(1);
        if (audited)
        {
            Interlocked.Increment(ref _droppedUnreported);
        }

        LogDropped(_logger, auditEvent.EventId, auditEvent.Decision.ToWire(), why);
    }

    private async Task ConsumeAsync()
    {
        try
        {
            var head = await ResumeAsync();
            var sealer = new AuditChainSealer(_options.Replica, head);
            Volatile.Write(ref _head, head);
            var reader = _queue.Reader;
            var batch = new List<AuditEvent>(_options.BatchSize + 1);
            while (true)
            {
                var more = await reader.WaitToReadAsync(_abort.Token);

                // A drop happens while the queue is full, so the marker rides with the events after it;
                // the final pass after the queue closed writes a marker no event followed.
                var dropped = Interlocked.Exchange(ref _droppedUnreported, 0);
                if (!more && dropped == 0)
                {
                    break;
                }

                if (dropped > 0)
                {
                    batch.Add(DroppedMarker(dropped));
                }

                Drain(reader, batch);
                if (more && batch.Count < _options.BatchSize && _options.BatchDelay > TimeSpan.Zero)
                {
                    // Group commit: what arrives meanwhile shares this batch's write and fsync. A real
                    // delay, not the injected clock's: it paces I/O, it does not stamp events.
                    await Task.Delay(_options.BatchDelay, _abort.Token);
                    Drain(reader, batch);
                }

                _inFlight = batch.Count;
                var records = sealer.Seal(batch, (failed, ex) =>
                {
                    LogUnserializable(_logger, failed.EventId, ex);
                    RecordDrop(failed, "it could not be serialized", audited: true);
                });
                if (records.Count > 0)
                {
                    foreach (var sink in _sinks)
                    {
                        await WriteToSinkAsync(sink, records);
                    }

                    Interlocked.Add(ref _written, records.Count);
                    Volatile.Write(ref _head, sealer.Head);
                }

                batch.Clear();
                _inFlight = 0;
                if (!more)
                {
                    break;
                }
            }

            await FlushSinksAsync();
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            LogStopTimedOut(_logger, _queue.Reader.Count + _inFlight);
        }
        catch (Exception ex)
        {
            // Not expected (sinks are retried, serialization failures are caught): say so loudly, and
            // let the queue fill so requests wait rather than go on unaudited.
            LogConsumerFailed(_logger, ex);
        }
    }

    private void Drain(ChannelReader<AuditEvent> reader, List<AuditEvent> batch)
    {
        while (batch.Count < _options.BatchSize && reader.TryRead(out var auditEvent))
        {
            batch.Add(auditEvent);
        }
    }

    /// <summary>
    /// Continues from the furthest head any sink holds: a sink that lost its tail then shows a seq gap
    /// where the loss is, instead of the chain quietly starting again.
    /// </summary>
    private async Task<AuditChainHead?> ResumeAsync()
    {
        AuditChainHead? head = null;
        foreach (var sink in _sinks)
        {
            var sinkHead = await RetryAsync(sink, static (sink, replica, ct) => sink.ReadHeadAsync(replica, ct), _options.Replica);
            if (sinkHead is not null && (head is null || sinkHead.Seq > head.Seq))
            {
                head = sinkHead;
            }
        }

        if (head is null)
        {
            LogNewChain(_logger, _options.Replica);
        }
        else
        {
            LogResumed(_logger, _options.Replica, head.Seq);
        }

        return head;
    }

    private async Task WriteToSinkAsync(IAuditSink sink, IReadOnlyList<AuditRecord> records)
    {
        await RetryAsync(
            sink,
            static async (sink, records, ct) =>
            {
                await sink.WriteAsync(records, ct);
                return true;
            },
            records);
        GatewayTelemetry.RecordAuditEvents(sink.Name, records.Count);
    }

    private async Task FlushSinksAsync()
    {
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.FlushAsync(_abort.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref _sinkErrors);
                GatewayTelemetry.RecordAuditSinkError(sink.Name);
                LogFlushFailed(_logger, sink.Name, ex);
            }
        }
    }

    private async Task<TResult> RetryAsync<TState, TResult>(
        IAuditSink sink,
        Func<IAuditSink, TState, CancellationToken, ValueTask<TResult>> operation,
        TState state)
    {
        var delay = _options.RetryBaseDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await operation(sink, state, _abort.Token);
                if (attempt > 1)
                {
                    LogSinkRecovered(_logger, sink.Name, attempt);
                }

                return result;
            }
            catch (Exception ex) when (!_abort.IsCancellationRequested)
            {
                Interlocked.Increment(ref _sinkErrors);
                GatewayTelemetry.RecordAuditSinkError(sink.Name);
                LogSinkFailed(_logger, sink.Name, attempt, delay, ex);
                await Task.Delay(delay, _timeProvider, _abort.Token);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.RetryMaxDelay.Ticks));
            }
        }
    }

    private AuditEvent DroppedMarker(long dropped)
    {
        var now = _timeProvider.GetUtcNow();
        return new AuditEvent
        {
            EventId = Guid.CreateVersion7(now).ToString("N"),
            Time = now,
            Decision = AuditDecision.Admin,
            Admin = new AuditAdmin
            {
                Action = "audit.dropped",
                Target = dropped.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Audit sink {Sink} failed (attempt {Attempt}); retrying in {Delay} while the queue holds new events.")]
    private static partial void LogSinkFailed(ILogger logger, string sink, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Audit sink {Sink} recovered after {Attempts} attempts.")]
    private static partial void LogSinkRecovered(ILogger logger, string sink, int attempts);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Audit event {EventId} ({Decision}) was not written: {Reason}.")]
    private static partial void LogDropped(ILogger logger, string eventId, string decision, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Audit writer stopped before writing {Count} queued events: a sink did not recover before the shutdown deadline.")]
    private static partial void LogStopTimedOut(ILogger logger, int count);

    [LoggerMessage(EventId = 5, Level = LogLevel.Critical, Message = "Audit writer failed; no more events will be written and requests will wait once the queue is full.")]
    private static partial void LogConsumerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Audit sink {Sink} failed to flush on stop.")]
    private static partial void LogFlushFailed(ILogger logger, string sink, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Audit chain of replica {Replica} starts at seq 1.")]
    private static partial void LogNewChain(ILogger logger, string replica);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Audit chain of replica {Replica} resumes after seq {Seq}.")]
    private static partial void LogResumed(ILogger logger, string replica, long seq);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "Audit event {EventId} could not be serialized.")]
    private static partial void LogUnserializable(ILogger logger, string eventId, Exception exception);
}
