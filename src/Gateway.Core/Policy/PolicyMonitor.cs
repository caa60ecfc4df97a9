using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Gateway.Policy;

/// <summary>
/// Holds the current <see cref="PolicySnapshot"/> and reloads it when the policy (or a JWKS file
/// it names) changes on disk.
/// </summary>
/// <remarks>
/// Polling rather than FileSystemWatcher: it sees Kubernetes' ConfigMap symlink swaps, editors
/// that replace files and network volumes alike, and stat-ing a few files twice a second costs
/// nothing. A change is applied only once its content has been the same on two consecutive
/// polls, so a file caught half-written is never loaded: a truncated YAML file can still be
/// valid, and that would be a half-applied policy. An invalid edit is logged and the last good
/// snapshot keeps serving.
/// </remarks>
public sealed partial class PolicyMonitor : IDisposable
{
    private readonly string _path;
    private readonly Func<GatewayPolicy, PolicySnapshot> _compile;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly Lock _pollLock = new();
    private PolicySnapshot _current;
    private byte[] _currentFingerprint;
    private byte[]? _pendingFingerprint;
    private byte[]? _rejectedFingerprint;

    private PolicyMonitor(string path, PolicySnapshot initial, byte[] fingerprint, Func<GatewayPolicy, PolicySnapshot> compile, TimeProvider time, TimeSpan pollInterval, ILogger logger)
    {
        _path = path;
        _compile = compile;
        _logger = logger;
        _current = initial;
        _currentFingerprint = fingerprint;
        _timer = time.CreateTimer(static state => ((PolicyMonitor)state!).Poll(), this, pollInterval, pollInterval);
    }

    /// <summary>Default poll interval: 500 ms, so a settled edit is live within about a second.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(500);

    public PolicySnapshot Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new snapshot is in place (on the polling thread).</summary>
    public event Action<PolicySnapshot>? Changed;

    /// <summary>Loads the policy once; throws <see cref="PolicyLoadException"/> when it is invalid.</summary>
    public static PolicyMonitor Start(string path, Func<GatewayPolicy, PolicySnapshot> compile, TimeProvider time, ILogger logger, TimeSpan? pollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(compile);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        path = Path.GetFullPath(path);
        var result = PolicyLoader.Load(path);
        if (result.Policy is null)
        {
            throw new PolicyLoadException(result.Errors);
        }

        var snapshot = compile(result.Policy);
        var fingerprint = Fingerprint(path, result.Policy);
        var monitor = new PolicyMonitor(path, snapshot, fingerprint, compile, time, pollInterval ?? DefaultPollInterval, logger);
        LogLoaded(logger, path, result.Policy.Routes.Count, result.Policy.Sha256);
        return monitor;
    }

    /// <summary>Checks the files now; used by the timer and by tests that drive time themselves.</summary>
    public void Poll()
    {
        if (!_pollLock.TryEnter())
        {
            return;
        }

        try
        {
            PollCore();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogPollFailed(_logger, _path, ex.Message);
        }
        finally
        {
            _pollLock.Exit();
        }
    }

    public void Dispose() => _timer.Dispose();

    private void PollCore()
    {
        var fingerprint = Fingerprint(_path, Current.Policy);
        if (fingerprint.AsSpan().SequenceEqual(_currentFingerprint) || (_rejectedFingerprint is not null && fingerprint.AsSpan().SequenceEqual(_rejectedFingerprint)))
        {
            _pendingFingerprint = null;
            return;
        }

        // Seen for the first time: wait one more poll to make sure the writer has finished.
        if (_pendingFingerprint is null || !fingerprint.AsSpan().SequenceEqual(_pendingFingerprint))
        {
            _pendingFingerprint = fingerprint;
            return;
        }

        _pendingFingerprint = null;
        var result = PolicyLoader.Load(_path);
        if (result.Policy is null)
        {
            _rejectedFingerprint = fingerprint;
            LogReloadRejected(_logger, _path, result.Errors.Count, string.Join(Environment.NewLine, result.Errors));
            return;
        }

        PolicySnapshot snapshot;
        try
        {
            snapshot = _compile(result.Policy);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException)
        {
            _rejectedFingerprint = fingerprint;
            LogReloadRejected(_logger, _path, 1, ex.Message);
            return;
        }

        // Recompute: the loaded policy may name different JWKS files than the one before.
        _currentFingerprint = Fingerprint(_path, result.Policy);
        _rejectedFingerprint = null;
        Volatile.Write(ref _current, snapshot);
        LogLoaded(_logger, _path, result.Policy.Routes.Count, result.Policy.Sha256);
        Changed?.Invoke(snapshot);
    }

    /// <summary>SHA-256 over the policy files and the JWKS files the policy reads, in a stable order.</summary>
    private static byte[] Fingerprint(string path, GatewayPolicy policy)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(IsPolicyFile).Order(StringComparer.Ordinal)
            : Enumerable.Repeat(path, 1);
        foreach (var file in files.Concat(policy.Issuers.Select(i => i.JwksFile).OfType<string>()))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(file));
            if (File.Exists(file))
            {
                hash.AppendData(File.ReadAllBytes(file));
            }
        }

        return hash.GetHashAndReset();
    }

    private static bool IsPolicyFile(string file) =>
        file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Policy loaded from {Path}: {RouteCount} routes, sha256 {Sha256}")]
    private static partial void LogLoaded(ILogger logger, string path, int routeCount, string sha256);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Policy edit in {Path} refused with {ErrorCount} error(s); the previous policy keeps serving:\n{Errors}")]
    private static partial void LogReloadRejected(ILogger logger, string path, int errorCount, string errors);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not read the policy at {Path}: {Reason}; the previous policy keeps serving")]
    private static partial void LogPollFailed(ILogger logger, string path, string reason);
}
