using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Audit;

/// <summary>
/// Audit events as JSON Lines in a file. <c>decisions.jsonl</c> is the live file; when it would pass
/// <see cref="JsonLinesAuditSinkOptions.MaxFileBytes"/> it is renamed to
/// <c>decisions-&lt;UTC yyyyMMddTHHmmssfffZ&gt;-&lt;last seq&gt;.jsonl</c> and a new live file begins. The
/// chain runs on across files; <see cref="GetChainFiles"/> lists them in chain order. Files are
/// never truncated, except for the torn tail of a write this sink itself just failed to finish.
/// </summary>
/// <remarks>One process per file: two gateways appending to one file would interleave partial lines.</remarks>
public sealed partial class JsonLinesAuditSink : IAuditSink, IDisposable
{
    private const int BufferSize = 64 * 1024;
    private const string StampFormat = "yyyyMMdd'T'HHmmssfff'Z'";

    private readonly JsonLinesAuditSinkOptions _options;
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private readonly ITimer? _fsyncTimer;
    private FileStream? _stream;

    // Bytes of the live file known to hold whole, flushed lines; null until this process opens it.
    private long? _goodLength;
    private long _length;
    private long _fileLastSeq;

    // The last record stored, so a retried batch skips what an earlier attempt already stored.
    private string? _storedReplica;
    private long _storedSeq;
    private bool _unsynced;
    private bool _disposed;

    public JsonLinesAuditSink(JsonLinesAuditSinkOptions options, ILogger<JsonLinesAuditSink>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _path = System.IO.Path.GetFullPath(options.Path);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        if (options.Fsync == AuditFsyncPolicy.Interval)
        {
            _fsyncTimer = _timeProvider.CreateTimer(static state => ((JsonLinesAuditSink)state!).SyncIfDirty(), this, options.FsyncInterval, options.FsyncInterval);
        }
    }

    public string Name => "file";

    /// <summary>The live file, absolute.</summary>
    public string LiveFilePath => _path;

    /// <summary>
    /// The files of the chain that <paramref name="liveFilePath"/> heads, oldest first: the rotated files
    /// (by the time and seq in their names), then the live file if it exists.
    /// </summary>
    public static IReadOnlyList<string> GetChainFiles(string liveFilePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(liveFilePath);
        var live = System.IO.Path.GetFullPath(liveFilePath);
        var directory = System.IO.Path.GetDirectoryName(live)!;
        var stem = System.IO.Path.GetFileNameWithoutExtension(live);
        var extension = System.IO.Path.GetExtension(live);
        var pattern = new Regex("^" + Regex.Escape(stem) + @"-(\d{8}T\d{9}Z)-(\d+)" + Regex.Escape(extension) + "$", RegexOptions.CultureInvariant);
        var rotated = new List<(string Stamp, long Seq, string Path)>();
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                var match = pattern.Match(System.IO.Path.GetFileName(file));
                if (match.Success && long.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
                {
                    rotated.Add((match.Groups[1].Value, seq, file));
                }
            }
        }

        rotated.Sort(static (a, b) => string.CompareOrdinal(a.Stamp, b.Stamp) is var byTime and not 0 ? byTime : a.Seq.CompareTo(b.Seq));
        var files = rotated.ConvertAll(static r => r.Path);
        if (File.Exists(live))
        {
            files.Add(live);
        }

        return files;
    }

    /// <summary>
    /// The last event of <paramref name="replica"/> in the live file, or, when the live file is empty or
    /// missing, in the newest rotated file. Older files are not searched: a replica that wrote none of
    /// the newest lines here has been replaced, and the chain under its id starts again.
    /// </summary>
    public ValueTask<AuditChainHead?> ReadHeadAsync(string replica, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        lock (_lock)
        {
            var files = GetChainFiles(_path);
            var newest = files.Count == 0 ? null
                : files[^1] == _path && new FileInfo(_path).Length == 0 && files.Count > 1 ? files[^2]
                : files[^1];
            return ValueTask.FromResult(newest is null ? null : FindHead(newest, replica));
        }
    }

    public ValueTask WriteAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                WriteBatch(batch);
            }
            catch
            {
                // Drop the handle: the retry reopens the file and cuts off whatever part of this batch
                // reached it, so the lines are written once, whole.
                CloseQuietly();
                throw;
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_stream is not null)
            {
                _stream.Flush(flushToDisk: true);
                _unsynced = false;
            }
        }

        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        _fsyncTimer?.Dispose();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_stream is null)
            {
                return;
            }

            try
            {
                _stream.Flush(flushToDisk: true);
            }
            catch (IOException ex)
            {
                // Dispose runs during shutdown and must not throw; the writer already flushed, so
                // at most the last batch's fsync is missing, and that is logged.
                LogSyncFailed(_logger, _path, ex);
            }

            CloseQuietly();
        }
    }

    private void WriteBatch(IReadOnlyList<AuditRecord> batch)
    {
        var stream = _stream ?? Open();
        string? lastReplica = null;
        long lastSeq = 0;
        foreach (var record in batch)
        {
            if (record.Replica == _storedReplica && record.Seq <= _storedSeq)
            {
                continue;
            }

            var size = record.Utf8Json.Length + 1;
            if (_length > 0 && _length + size > _options.MaxFileBytes)
            {
                stream = Rotate(stream);
                if (lastReplica is not null)
                {
                    // Rotate made everything before this record durable.
                    (_storedReplica, _storedSeq) = (lastReplica, lastSeq);
                }
            }

            stream.Write(record.Utf8Json.Span);
            stream.WriteByte((byte)'\n');
            _length += size;
            _fileLastSeq = record.Seq;
            (lastReplica, lastSeq) = (record.Replica, record.Seq);
        }

        var sync = _options.Fsync == AuditFsyncPolicy.EveryBatch;
        stream.Flush(flushToDisk: sync);
        _unsynced = !sync;
        _goodLength = _length;
        if (lastReplica is not null)
        {
            (_storedReplica, _storedSeq) = (lastReplica, lastSeq);
        }
    }

    private FileStream Open()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            BufferSize = BufferSize,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = _options.FileMode;
        }

        var firstOpen = _goodLength is null;
        if (firstOpen && File.Exists(_path))
        {
            _fileLastSeq = LastSeq(_path);
        }

        var stream = new FileStream(_path, options);
        try
        {
            _length = stream.Length;
            if (_goodLength is { } good && _length > good)
            {
                LogTornWriteRemoved(_logger, _path, _length - good);
                stream.SetLength(good);
                _length = good;
            }
            else if (firstOpen && _length > 0 && !EndsWithNewline(stream))
            {
                // A crash tore the last line. It stays as evidence (verify reports it); the next event
                // starts on a line of its own, and the chain goes on from the last whole event.
                LogTornLineFound(_logger, _path);
                stream.Seek(0, SeekOrigin.End);
                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
                _length++;
            }

            stream.Seek(0, SeekOrigin.End);
            _goodLength = _length;
            _stream = stream;
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private FileStream Rotate(FileStream stream)
    {
        // Rotation is rare, so the closed file is always made durable whatever the fsync policy.
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        _stream = null;
        _unsynced = false;

        var now = _timeProvider.GetUtcNow();
        string target;
        while (File.Exists(target = RotatedPath(now)))
        {
            now = now.AddMilliseconds(1);
        }

        File.Move(_path, target);
        LogRotated(_logger, target, _fileLastSeq);
        _goodLength = 0;
        _fileLastSeq = 0;
        return Open();
    }

    private string RotatedPath(DateTimeOffset time) => System.IO.Path.Combine(
        System.IO.Path.GetDirectoryName(_path)!,
        System.IO.Path.GetFileNameWithoutExtension(_path) + "-"
            + time.UtcDateTime.ToString(StampFormat, CultureInfo.InvariantCulture) + "-"
            + _fileLastSeq.ToString(CultureInfo.InvariantCulture)
            + System.IO.Path.GetExtension(_path));

    private void SyncIfDirty()
    {
        lock (_lock)
        {
            if (!_unsynced || _stream is null)
            {
                return;
            }

            try
            {
                _stream.Flush(flushToDisk: true);
                _unsynced = false;
            }
            catch (IOException ex)
            {
                LogSyncFailed(_logger, _path, ex);
            }
        }
    }

    private void CloseQuietly()
    {
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
            // The write already failed; the retry reopens the file.
        }

        _stream = null;
    }

    private static bool EndsWithNewline(FileStream stream)
    {
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() == '\n';
    }

    private static AuditChainHead? FindHead(string path, string replica)
    {
        // Lines are canonical JSON, so the member appears exactly like this; lines without it are skipped unparsed.
        var needle = ReplicaMember(replica);
        foreach (var line in ReverseLineReader.ReadLines(path))
        {
            if (line.AsSpan().IndexOf(needle) >= 0 && TryReadChainMembers(line, out var lineReplica, out var seq, out var hash) && lineReplica == replica)
            {
                return new AuditChainHead(replica, seq, hash);
            }
        }

        return null;
    }

    private static long LastSeq(string path)
    {
        foreach (var line in ReverseLineReader.ReadLines(path))
        {
            if (TryReadChainMembers(line, out _, out var seq, out _))
            {
                return seq;
            }
        }

        return 0;
    }

    private static byte[] ReplicaMember(string replica)
    {
        var buffer = new ArrayBufferWriter<byte>(replica.Length + 16);
        var json = new CanonicalJsonWriter(buffer);
        json.StartObject();
        json.Member("replica", replica);
        json.EndObject();
        return buffer.WrittenSpan[1..^1].ToArray();
    }

    private static bool TryReadChainMembers(byte[] line, out string replica, out long seq, out string hash)
    {
        replica = "";
        seq = 0;
        hash = "";
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("replica", out var r) && r.ValueKind == JsonValueKind.String
                && root.TryGetProperty("seq", out var s) && s.TryGetInt64(out seq)
                && root.TryGetProperty("hash", out var h) && h.ValueKind == JsonValueKind.String)
            {
                replica = r.GetString()!;
                hash = h.GetString()!;
                return true;
            }
        }
        catch (JsonException)
        {
            // A torn or foreign line: not a head.
        }

        return false;
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Audit file rotated to {File} (last seq {Seq}).")]
    private static partial void LogRotated(ILogger logger, string file, long seq);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Audit file {File} ends in a torn line (the process stopped mid-write); it is kept and verify will report it. New events start on the next line.")]
    private static partial void LogTornLineFound(ILogger logger, string file);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Audit file {File}: removed {Bytes} bytes of a failed write before retrying it.")]
    private static partial void LogTornWriteRemoved(ILogger logger, string file, long bytes);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Audit file {File} could not be synced to disk.")]
    private static partial void LogSyncFailed(ILogger logger, string file, Exception exception);
}
