using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Telemetry;

/// <summary>
/// Keeps every log entry, at every level, as the text a log sink could see: the formatted message,
/// each structured value (the template included), the exception with its inner exceptions, and the
/// values of every scope active at the time (ASP.NET Core's request scope, for one).
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public LockedCollection<CapturedLog> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new StringBuilder();
            text.Append(formatter(state, exception));
            AppendValues(text, state);
            provider._scopes.ForEachScope(static (scope, builder) => AppendValues(builder.Append(" scope:"), scope), text);
            if (exception is not null)
            {
                text.Append(" exception:").Append(exception);
            }

            provider.Entries.Add(new CapturedLog(category, logLevel, eventId.Id, text.ToString()));
        }

        private static void AppendValues(StringBuilder text, object? state)
        {
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var value in values)
                {
                    text.Append(CultureInfo.InvariantCulture, $" {value.Key}={Convert.ToString(value.Value, CultureInfo.InvariantCulture)}");
                }
            }
            else if (state is not null)
            {
                text.Append(' ').Append(Convert.ToString(state, CultureInfo.InvariantCulture));
            }
        }
    }
}

public sealed record CapturedLog(string Category, LogLevel Level, int EventId, string Text)
{
    public override string ToString() => $"[{Level} {Category} {EventId}] {Text}";
}
