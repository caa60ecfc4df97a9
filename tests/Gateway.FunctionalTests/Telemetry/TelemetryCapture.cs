using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gateway.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Gateway.FunctionalTests.Telemetry;

/// <summary>
/// Everything a test gateway emits in process, captured through <see cref="Configure"/> (the
/// gateway's <c>GatewayStartOptions.Configure</c> hook): every span its tracer provider exports
/// (in-memory exporter), every metric point (in-memory exporter, snapshots), and every log entry at
/// every level (a capturing <see cref="ILoggerProvider"/> with a Trace filter of its own).
/// </summary>
/// <remarks>
/// Activity listeners are process-wide, so the spans include those of other hosts in the test
/// process (the upstream, other tests' gateways); tests pick theirs by trace id or decision id.
/// </remarks>
public sealed class TelemetryCapture
{
    public LockedCollection<Activity> Spans { get; } = new();

    public LockedCollection<MetricSnapshot> Metrics { get; } = new();

    public CapturingLoggerProvider Logs { get; } = new();

    public void Configure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(Spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(Metrics));
        builder.Logging.AddProvider(Logs);

        // The gateway turns framework categories down to Warning; a rule for this provider wins
        // over those (provider rules are chosen before category rules), so it sees everything.
        builder.Logging.AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
    }

    /// <summary>Exports what the tracer and meter providers still hold, so the lists are complete.</summary>
    public static void Flush(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetRequiredService<TracerProvider>().ForceFlush(10_000);
        services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
    }

    /// <summary>Waits (bounded) for a span matching <paramref name="match"/>; spans are exported when they end.</summary>
    public async Task<Activity> WaitForSpanAsync(Func<Activity, bool> match, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            if (Spans.Snapshot().FirstOrDefault(match) is { } span)
            {
                return span;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No span {what} was exported within the timeout; {Spans.Count} spans seen.");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>The <c>gateway.authorize</c> span of the decision with this id.</summary>
    public Task<Activity> WaitForAuthorizeSpanAsync(string decisionId) => WaitForSpanAsync(
        s => s.Source.Name == GatewayTelemetry.Name && s.OperationName == GatewayTelemetry.AuthorizeSpanName
            && Equals(s.GetTagItem(GatewayAttributes.DecisionId), decisionId),
        $"gateway.authorize with decision id {decisionId}");

    /// <summary>Every span as text: names, kind, ids, tags, events and their tags, links, status, baggage, trace state.</summary>
    public static string Describe(Activity span)
    {
        ArgumentNullException.ThrowIfNull(span);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{span.Source.Name} {span.OperationName} {span.DisplayName} {span.Kind} {span.TraceId} {span.SpanId} {span.ParentSpanId} status={span.Status} {span.StatusDescription} state={span.TraceStateString}");
        foreach (var tag in span.TagObjects)
        {
            text.Append(CultureInfo.InvariantCulture, $" {tag.Key}={Stringify(tag.Value)}");
        }

        foreach (var activityEvent in span.Events)
        {
            text.Append(CultureInfo.InvariantCulture, $" event:{activityEvent.Name}");
            foreach (var tag in activityEvent.Tags)
            {
                text.Append(CultureInfo.InvariantCulture, $" {tag.Key}={Stringify(tag.Value)}");
            }
        }

        foreach (var link in span.Links)
        {
            text.Append(CultureInfo.InvariantCulture, $" link:{link.Context.TraceId}/{link.Context.SpanId}");
        }

        foreach (var baggage in span.Baggage)
        {
            text.Append(CultureInfo.InvariantCulture, $" baggage:{baggage.Key}={baggage.Value}");
        }

        return text.ToString();
    }

    /// <summary>Every metric point as text: instrument name and every tag.</summary>
    public static IEnumerable<string> Describe(MetricSnapshot metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        foreach (var point in metric.MetricPoints)
        {
            var text = new StringBuilder(metric.Name);
            foreach (var tag in point.Tags)
            {
                text.Append(CultureInfo.InvariantCulture, $" {tag.Key}={Stringify(tag.Value)}");
            }

            yield return text.ToString();
        }
    }

    private static string Stringify(object? value) => value switch
    {
        null => "",
        string s => s,
        IEnumerable items => string.Join(",", items.Cast<object?>().Select(Stringify)),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>A list safe to add to from exporter threads and to read from the test.</summary>
public sealed class LockedCollection<T> : ICollection<T>
{
    private readonly List<T> _items = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public T[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _items];
        }
    }

    public void Add(T item)
    {
        lock (_lock)
        {
            _items.Add(item);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _items.Clear();
        }
    }

    public bool Contains(T item)
    {
        lock (_lock)
        {
            return _items.Contains(item);
        }
    }

    public void CopyTo(T[] array, int arrayIndex)
    {
        lock (_lock)
        {
            _items.CopyTo(array, arrayIndex);
        }
    }

    public bool Remove(T item)
    {
        lock (_lock)
        {
            return _items.Remove(item);
        }
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Snapshot()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
