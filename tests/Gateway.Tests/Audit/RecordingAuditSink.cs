using System.Text;
using Gateway.Audit;

namespace Gateway.Tests.Audit;

/// <summary>Keeps every line it is given; can be made slow or failing, to test the writer around it.</summary>
internal sealed class RecordingAuditSink : IAuditSink
{
    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];
    private long _lastSeq;

    public string Name { get; init; } = "memory";

    /// <summary>Awaited before each batch is stored (a slow sink).</summary>
    public Func<Task>? BeforeWrite { get; set; }

    /// <summary>How many more writes fail before they succeed again.</summary>
    public int FailNext { get; set; }

    public AuditChainHead? Head { get; set; }

    public int Batches { get; private set; }

    public int Flushes { get; private set; }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    public ValueTask<AuditChainHead?> ReadHeadAsync(string replica, CancellationToken cancellationToken) => ValueTask.FromResult(Head);

    public async ValueTask WriteAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        if (BeforeWrite is { } wait)
        {
            await wait();
        }

        if (FailNext > 0)
        {
            FailNext--;
            throw new IOException("Simulated sink failure.");
        }

        lock (_lock)
        {
            Batches++;
            foreach (var record in batch)
            {
                // As the interface asks: a retried batch stores nothing twice.
                if (record.Seq <= _lastSeq)
                {
                    continue;
                }

                _lines.Add(Encoding.UTF8.GetString(record.Utf8Json.Span));
                _lastSeq = record.Seq;
            }
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Flushes++;
        return ValueTask.CompletedTask;
    }
}
