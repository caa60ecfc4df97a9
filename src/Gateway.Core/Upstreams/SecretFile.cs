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
    private State? _failed;

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

    /// <summary>
    /// Raised after the content changed (on the timer's thread). A handler that throws leaves <see cref="Value"/>
    /// at the previous content and is raised again at the next poll.
    /// </summary>
    public event Action? Changed;

    public void Dispose() => _timer.Dispose();

    internal void Reload()
    {
        var previous = _state;
        var next = Read(Path);
        if (previous.Equals(next))
        {
            return;
        }

        _state = next;
        try
        {
            Changed?.Invoke();
        }
        catch (Exception e)
        {
            // This runs on a timer thread, where an exception would end the process. What was derived from the
            // previous content (a certificate, a signing key) is still in use, so the previous content stays the
            // file's value, and the next poll, seeing the file differ from it, tries again. Logged once per content.
            _state = previous;
            if (!next.Equals(_failed))
            {
                _failed = next;
                LogChangeFailed(_logger, _upstream, Name, e.GetType().Name);
            }

            return;
        }

        _failed = null;
        if (next.Problem is null)
        {
            LogChanged(_logger, _upstream, Name);
        }
        else
        {
            LogUnreadable(_logger, _upstream, Name, next.Problem);
        }
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

    // The exception's type only: its message could quote what it failed to parse, and that is the secret.
    [LoggerMessage(EventId = 1506, Level = LogLevel.Error, Message = "Upstream {Upstream}: secret file {File} changed but could not be taken into use ({ExceptionType}); the previous value stays in use and the change is tried again at each poll")]
    private static partial void LogChangeFailed(ILogger logger, string upstream, string file, string exceptionType);

    /// <summary>
    /// A credential's file changed to content that is there but cannot be used (not a key, not a certificate, a
    /// header value with a line break), and the credential keeps what it had: a rotation gone wrong must not stop
    /// the calls the previous material serves. A file that is gone or empty is different: that is taken away.
    /// </summary>
    [LoggerMessage(EventId = 1507, Level = LogLevel.Warning, Message = "Upstream {Upstream}: {Problem}; the previous one stays in use until the file holds a usable one")]
    internal static partial void LogUnusable(ILogger logger, string upstream, string problem);
}
