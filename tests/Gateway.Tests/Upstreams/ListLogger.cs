using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Upstreams;

/// <summary>Keeps each entry's event id, level and formatted text, with its exception's text.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly Lock _lock = new();
    private readonly List<(int EventId, LogLevel Level, string Text)> _entries = [];

    public IReadOnlyList<(int EventId, LogLevel Level, string Text)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _entries.Add((eventId.Id, logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception)));
        }
    }
}
