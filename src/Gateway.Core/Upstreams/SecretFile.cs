using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary>
/// A secret kept in a file (a mounted Kubernetes Secret), held in memory and re-read on a timer so a rotation is
/// picked up without a restart and without I/O on the request path. Polled rather than watched: a Secret mount is
/// updated by swapping a symlink, which file watchers report unreliably or not at all.
/// </summary>
internal sealed partial class SecretFile : IDisposable
{
    /// <summary>How often the file is re-read. Default 1 second, so a rotated value is in use within 2 seconds.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger;
    private readonly string _upstream;
    private readonly ITimer _timer;
    private volatile State _state;

    public SecretFile(string path, string upstream, TimeProvider time, ILogger logger, TimeSpan? pollInterval = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        Path = path;
        _upstream = upstream;
        _logger = logger;
        _state = Read(path);
        var interval = pollInterval ?? DefaultPollInterval;
        _timer = time.CreateTimer(static s => ((SecretFile)s!).Reload(), this, interval, interval);
    }

    public string Path { get; }

    /// <summary>The file's name, which is what logs and audit events may show of it.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>The current content without surrounding whitespace (files written by <c>echo</c> end in a newline); null when it cannot be read.</summary>
    public string? Value => _state.Value;

    /// <summary>Why <see cref="Value"/> is null.</summary>
    public string? Problem => _state.Problem;

    /// <summary>Raised after the content changed (on the timer's thread).</summary>
    public event Action? Changed;

    public void Dispose() => _timer.Dispose();

    internal void Reload()
    {
        var previous = _state;
        var next = Read(Path);
        if (string.Equals(previous.Value, next.Value, StringComparison.Ordinal) && string.Equals(previous.Problem, next.Problem, StringComparison.Ordinal))
        {
            return;
        }

        _state = next;
        if (next.Problem is null)
        {
            LogChanged(_logger, _upstream, Name);
        }
        else
        {
            LogUnreadable(_logger, _upstream, Name, next.Problem);
        }

        Changed?.Invoke();
    }

    private static State Read(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length == 0 ? new State(null, $"secret file '{System.IO.Path.GetFileName(path)}' is empty") : new State(text, null);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new State(null, $"secret file '{System.IO.Path.GetFileName(path)}' does not exist");
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // The exception's own message is left out: it is the operating system's text, not ours to vouch for.
            return new State(null, $"secret file '{System.IO.Path.GetFileName(path)}' cannot be read");
        }
    }

    private sealed record State(string? Value, string? Problem);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Upstream {Upstream}: secret file {File} changed; the new value is used from now on")]
    private static partial void LogChanged(ILogger logger, string upstream, string file);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Upstream {Upstream}: secret file {File}: {Problem}; calls to it are refused with upstream_credentials_unavailable until it can be read")]
    private static partial void LogUnreadable(ILogger logger, string upstream, string file, string problem);
}
