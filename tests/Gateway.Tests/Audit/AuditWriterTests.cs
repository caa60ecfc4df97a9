using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Gateway.Audit;
using Gateway.Telemetry;

namespace Gateway.Tests.Audit;

public sealed class AuditWriterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task WriteAsync_1000EventsFromManyTasks_EveryEventArrivesAndTheChainVerifies()
    {
        var sink = new RecordingAuditSink();
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", BatchSize = 64 });
        await writer.StartAsync(CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(0, 50).Select(task => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await writer.WriteAsync(AuditTestData.Allowed((task * 20) + i), CancellationToken.None);
            }
        })));
        await writer.StopAsync(CancellationToken.None);

        var result = AuditVerifier.VerifyLines(sink.Lines);
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(1000, result.Events);
        Assert.Equal(new AuditChainSummary("r1", 1, 1000, writer.Head!.Hash, 1000), Assert.Single(result.Chains));
        Assert.Equal(1000, sink.Lines.Select(l => AuditEventSerializer.Parse(System.Text.Encoding.UTF8.GetBytes(l)).EventId).Distinct().Count());
        Assert.Equal(1000, writer.EventsWritten);
        Assert.Equal(0, writer.DroppedEvents);
    }

    [Fact]
    public async Task WriteAsync_OneProducer_KeepsItsOrderInTheChain()
    {
        var sink = new RecordingAuditSink();
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", BatchSize = 7 });
        await writer.StartAsync(CancellationToken.None);
        var written = Enumerable.Range(0, 100).Select(AuditTestData.Allowed).ToList();

        foreach (var auditEvent in written)
        {
            await writer.WriteAsync(auditEvent, CancellationToken.None);
        }

        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(written.Select(e => e.EventId), sink.Lines.Select(l => AuditEventSerializer.Parse(System.Text.Encoding.UTF8.GetBytes(l)).EventId));
    }

    [Fact]
    public async Task WriteAsync_EventsArrivingWithinTheBatchDelay_ShareOneWrite()
    {
        var sink = new RecordingAuditSink();
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", BatchDelay = TimeSpan.FromSeconds(1) });
        await writer.StartAsync(CancellationToken.None);

        // One by one, as a lightly loaded gateway queues them: each would be a write and an fsync of its own.
        for (var i = 0; i < 5; i++)
        {
            await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
        }

        await WaitUntilAsync(() => sink.Lines.Count == 5);
        Assert.Equal(1, sink.Batches);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(5, writer.EventsWritten);
    }

    [Fact]
    public async Task WriteAsync_SinkSlowerThanTraffic_WaitsForRoomInsteadOfDropping()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = new RecordingAuditSink { BeforeWrite = () => gate.Task };
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", Capacity = 4, BatchSize = 2 });
        await writer.StartAsync(CancellationToken.None);

        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
            }
        });
        await WaitUntilAsync(() => writer.QueueDepth == 4);
        await Task.Delay(200);

        // The sink holds its first batch, the queue is full: the producer is made to wait.
        Assert.False(producer.IsCompleted);
        Assert.Equal(4, writer.QueueDepth);
        Assert.Empty(sink.Lines);

        gate.SetResult();
        await producer.WaitAsync(Patience);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(20, sink.Lines.Count);
        Assert.Equal(0, writer.DroppedEvents);
        Assert.True(AuditVerifier.VerifyLines(sink.Lines).IsValid);
    }

    [Fact]
    public async Task QueueDepthGauge_WhileTheSinkIsBlocked_ReportsTheQueuedEvents()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = new RecordingAuditSink { BeforeWrite = () => gate.Task };
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", Capacity = 5, BatchSize = 1 });
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 6; i++)
        {
            await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
        }

        await WaitUntilAsync(() => writer.QueueDepth == 5);
        var observed = new List<int>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GatewayTelemetry.Name && instrument.Name == GatewayTelemetry.AuditQueueDepthInstrument)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<int>((_, value, _, _) => observed.Add(value));
            listener.Start();
            listener.RecordObservableInstruments();
        }

        gate.SetResult();
        await writer.StopAsync(CancellationToken.None);

        // Other tests' writers may be counted too; this one alone holds five.
        Assert.True(Assert.Single(observed) >= 5);
    }

    [Fact]
    public async Task StopAsync_EventsStillQueued_WritesThemAllAndFlushesBeforeReturning()
    {
        var sink = new RecordingAuditSink { BeforeWrite = () => Task.Delay(1) };
        var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", BatchSize = 10 });
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 500; i++)
        {
            await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
        }

        Assert.True(writer.QueueDepth > 0, "the test needs events still queued when it stops");
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(500, sink.Lines.Count);
        Assert.Equal(1, sink.Flushes);
        await writer.DisposeAsync();
    }

    [Fact]
    public async Task DisposeAsync_NeverStarted_StillWritesWhatWasQueued()
    {
        var sink = new RecordingAuditSink();
        var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1" });
        await writer.WriteAsync(AuditTestData.Allowed(), CancellationToken.None);

        await writer.DisposeAsync();

        Assert.Single(sink.Lines);
    }

    [Fact]
    public async Task WriteAsync_SinkFailsThenRecovers_RetriesCountsAndLosesNothing()
    {
        var sink = new RecordingAuditSink { Name = "memory-" + Guid.NewGuid().ToString("N"), FailNext = 3 };
        var errors = new MetricCounter(GatewayTelemetry.AuditSinkErrorsInstrument, sink.Name);
        var stored = new MetricCounter(GatewayTelemetry.AuditEventsInstrument, sink.Name);
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < 100; i++)
        {
            await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
        }

        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(100, sink.Lines.Count);
        Assert.True(AuditVerifier.VerifyLines(sink.Lines).IsValid);
        Assert.Equal(3, writer.SinkErrors);
        Assert.Equal(3, errors.Total);
        Assert.Equal(100, stored.Total);
        errors.Dispose();
        stored.Dispose();
    }

    [Fact]
    public async Task WriteAsync_TwoSinks_BothGetTheSameChain()
    {
        var first = new RecordingAuditSink();
        var second = new RecordingAuditSink { FailNext = 1 };
        await using var writer = new AuditWriter([first, second], new AuditWriterOptions { Replica = "r1", RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 50; i++)
        {
            await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
        }

        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(50, first.Lines.Count);
        Assert.Equal(first.Lines, second.Lines);
    }

    [Fact]
    public async Task WriteAsync_CallerGivesUpWhileQueueIsFull_ThrowsAndTheDropIsCountedAndAudited()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = new RecordingAuditSink { BeforeWrite = () => gate.Task };
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", Capacity = 1, BatchSize = 1 });
        await writer.StartAsync(CancellationToken.None);
        await writer.WriteAsync(AuditTestData.Allowed(1), CancellationToken.None);
        await WaitUntilAsync(() => writer.QueueDepth == 0);
        await writer.WriteAsync(AuditTestData.Allowed(2), CancellationToken.None);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.WriteAsync(AuditTestData.Allowed(3), timeout.Token).AsTask());
        Assert.Equal(1, writer.DroppedEvents);

        gate.SetResult();
        await writer.StopAsync(CancellationToken.None);

        var events = sink.Lines.Select(l => AuditEventSerializer.Parse(System.Text.Encoding.UTF8.GetBytes(l))).ToList();
        Assert.Equal(3, events.Count);
        var marker = Assert.Single(events, e => e.Decision == AuditDecision.Admin);
        Assert.Equal("audit.dropped", marker.Admin!.Action);
        Assert.Equal("1", marker.Admin.Target);
        Assert.True(AuditVerifier.VerifyLines(sink.Lines).IsValid);
    }

    [Fact]
    public async Task WriteAsync_AfterStop_ThrowsAndCountsTheDrop()
    {
        var sink = new RecordingAuditSink();
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1" });
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.WriteAsync(AuditTestData.Allowed(), CancellationToken.None).AsTask());
        Assert.Equal(1, writer.DroppedEvents);
    }

    [Fact]
    public async Task StartAsync_SinksHoldHeads_ContinuesFromTheFurthest()
    {
        var behind = new RecordingAuditSink { Head = new AuditChainHead("r1", 10, new string('1', 64)) };
        var ahead = new RecordingAuditSink { Head = new AuditChainHead("r1", 41, new string('4', 64)) };
        await using var writer = new AuditWriter([behind, ahead], new AuditWriterOptions { Replica = "r1" });
        await writer.StartAsync(CancellationToken.None);

        await writer.WriteAsync(AuditTestData.Allowed(), CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        using var line = JsonDocument.Parse(Assert.Single(ahead.Lines));
        Assert.Equal(42, line.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(new string('4', 64), line.RootElement.GetProperty("prev_hash").GetString());
        Assert.Equal(42, writer.Head!.Seq);
    }

    [Fact]
    public async Task StopAsync_SinkNeverRecovers_GivesUpWhenItsTokenFires()
    {
        var sink = new RecordingAuditSink { FailNext = int.MaxValue };
        var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", RetryBaseDelay = TimeSpan.FromMilliseconds(5), RetryMaxDelay = TimeSpan.FromMilliseconds(20) });
        await writer.StartAsync(CancellationToken.None);
        await writer.WriteAsync(AuditTestData.Allowed(), CancellationToken.None);

        var took = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await writer.StopAsync(deadline.Token);

        Assert.InRange(took.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.Empty(sink.Lines);
        Assert.True(writer.SinkErrors > 0);
        await writer.DisposeAsync();
    }

    [Fact]
    public void Constructor_OptionsOutOfRange_Throw()
    {
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => new AuditWriter([], new AuditWriterOptions { Capacity = 0 }));
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => new AuditWriter([], new AuditWriterOptions { Replica = "" }));
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => new AuditWriter([], new AuditWriterOptions { Replica = "a\nb" }));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Patience, "condition not met in time");
            await Task.Delay(5);
        }
    }

    /// <summary>Sums one counter's measurements whose <c>sink</c> tag is the given sink (tests run in parallel).</summary>
    private sealed class MetricCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public MetricCounter(string instrumentName, string sink)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GatewayTelemetry.Name && instrument.Name == instrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == GatewayMetricTags.Sink && (string?)tag.Value == sink)
                    {
                        Interlocked.Add(ref _total, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
