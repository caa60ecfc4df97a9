using System.Buffers;
using System.IO.Pipelines;

namespace Gateway.Mcp;

/// <summary>
/// Filters the <c>tools/list</c> answer in a <c>text/event-stream</c> response as it streams: each event is read up to
/// its blank line and written on at once (flushed), never the stream as a whole. Events without a tools list pass
/// byte for byte; the one carrying the answer has its <c>data</c> replaced by the filtered JSON, its other fields
/// (<c>id</c>, <c>event</c>, <c>retry</c>) kept.
/// </summary>
public static class McpEventStreamFilter
{
    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/> until the source ends, filtering as
    /// <see cref="McpToolsListFilter.FilterJson"/> does. An answer that cannot be filtered safely is replaced by a
    /// JSON-RPC internal error for the request's id; an event larger than <see cref="McpToolsListFilterOptions.MaxBytes"/>
    /// ends the copy (the caller aborts the response) rather than pass unread.
    /// </summary>
    public static async Task<McpStreamFilterResult> CopyAsync(Stream source, Stream destination, McpToolsListFilterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);

        var reader = PipeReader.Create(source, new StreamPipeReaderOptions(leaveOpen: true));
        var scanner = new EventScanner();
        var events = 0;
        var removed = 0;
        var refused = 0;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken);
                var buffer = read.Buffer;
                var wrote = false;
                while (scanner.TryReadEvent(ref buffer, read.IsCompleted, out var @event))
                {
                    var outcome = await WriteEventAsync(@event, destination, options, cancellationToken);
                    events++;
                    removed += outcome.Removed;
                    refused += outcome.Outcome == McpFilterOutcome.Refused ? 1 : 0;
                    wrote = true;
                }

                if (read.IsCompleted && !buffer.IsEmpty)
                {
                    // The stream ended inside an event; readers drop it, but a lenient one might not: filter it too.
                    var outcome = await WriteEventAsync(buffer, destination, options, cancellationToken);
                    events++;
                    removed += outcome.Removed;
                    refused += outcome.Outcome == McpFilterOutcome.Refused ? 1 : 0;
                    buffer = buffer.Slice(buffer.End);
                    wrote = true;
                }

                if (wrote)
                {
                    await destination.FlushAsync(cancellationToken);
                }

                if (buffer.Length > options.MaxBytes)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    return new McpStreamFilterResult(events, removed, refused, Completed: false);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    return new McpStreamFilterResult(events, removed, refused, Completed: true);
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static async ValueTask<McpFilterResult> WriteEventAsync(ReadOnlySequence<byte> @event, Stream destination, McpToolsListFilterOptions options, CancellationToken cancellationToken)
    {
        var bytes = @event.IsSingleSegment ? @event.First : @event.ToArray();
        var (outcome, rewritten) = Rewrite(bytes, options);
        await destination.WriteAsync(rewritten ?? bytes, cancellationToken);
        return outcome;
    }

    /// <summary>The event as it should be sent: null to send it as it was.</summary>
    internal static (McpFilterResult Outcome, ReadOnlyMemory<byte>? Event) Rewrite(ReadOnlyMemory<byte> @event, McpToolsListFilterOptions options)
    {
        var data = JoinData(@event.Span, out var dataLines);
        if (dataLines == 0 || data.Length == 0)
        {
            return (McpFilterResult.Unchanged, null);
        }

        var result = McpToolsListFilter.FilterJson(data, options);
        var replacement = result.Outcome switch
        {
            McpFilterOutcome.Filtered => result.Body!,
            McpFilterOutcome.Refused => JsonRpcErrorWriter.Error(options.ResponseIds is { Count: 1 } ids ? ids.First() : null, JsonRpcError.InternalErrorCode, "The gateway could not filter the tools/list answer: " + result.Reason),
            _ => null,
        };

        if (replacement is null)
        {
            return (result, null);
        }

        // Spelled out: a null byte[] would convert to an empty (not absent) ReadOnlyMemory and swallow the event.
        ReadOnlyMemory<byte> rewritten = ReplaceData(@event.Span, replacement);
        return (result, rewritten);
    }

    /// <summary>The event's data: the values of its <c>data</c> lines joined by LF, as an SSE reader builds it.</summary>
    private static ReadOnlyMemory<byte> JoinData(ReadOnlySpan<byte> @event, out int dataLines)
    {
        dataLines = 0;
        ArrayBufferWriter<byte>? joined = null;
        ReadOnlySpan<byte> only = default;
        foreach (var line in new LineEnumerator(@event))
        {
            if (!TryDataValue(line.Text, out var value))
            {
                continue;
            }

            if (dataLines >= 1)
            {
                if (joined is null)
                {
                    joined = new ArrayBufferWriter<byte>(@event.Length);
                    joined.Write(only);
                }

                joined.Write("\n"u8);
                joined.Write(value);
            }
            else
            {
                only = value;
            }

            dataLines++;
        }

        return joined is not null ? joined.WrittenMemory : only.ToArray();
    }

    private static byte[] ReplaceData(ReadOnlySpan<byte> @event, ReadOnlySpan<byte> json)
    {
        var output = new ArrayBufferWriter<byte>(@event.Length + json.Length);
        var written = false;
        foreach (var line in new LineEnumerator(@event))
        {
            if (!TryDataValue(line.Text, out _))
            {
                output.Write(line.Text);
                output.Write(line.Ending);
                continue;
            }

            if (written)
            {
                continue;
            }

            // JSON holds newlines only as whitespace (never inside a string), so each becomes a data line break.
            var eol = line.Ending.IsEmpty ? "\n"u8 : line.Ending;
            var rest = json;
            while (true)
            {
                var newline = rest.IndexOf((byte)'\n');
                output.Write("data: "u8);
                output.Write(newline < 0 ? rest : rest[..newline]);
                output.Write(eol);
                if (newline < 0)
                {
                    break;
                }

                rest = rest[(newline + 1)..];
            }

            written = true;
        }

        return output.WrittenSpan.ToArray();
    }

    private static bool TryDataValue(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!line.StartsWith("data"u8))
        {
            return false;
        }

        if (line.Length == 4)
        {
            return true;
        }

        if (line[4] != (byte)':')
        {
            return false;
        }

        value = line[5..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        return true;
    }

    private readonly ref struct Line(ReadOnlySpan<byte> text, ReadOnlySpan<byte> ending)
    {
        public ReadOnlySpan<byte> Text { get; } = text;

        public ReadOnlySpan<byte> Ending { get; } = ending;
    }

    /// <summary>Lines of one event with their endings (CRLF, LF or CR, as SSE allows).</summary>
    private ref struct LineEnumerator(ReadOnlySpan<byte> text)
    {
        private ReadOnlySpan<byte> _rest = text;

        public Line Current { get; private set; }

        public readonly LineEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.IsEmpty)
            {
                return false;
            }

            var end = _rest.IndexOfAny((byte)'\r', (byte)'\n');
            if (end < 0)
            {
                Current = new Line(_rest, default);
                _rest = default;
                return true;
            }

            var length = _rest[end] == (byte)'\r' && end + 1 < _rest.Length && _rest[end + 1] == (byte)'\n' ? 2 : 1;
            Current = new Line(_rest[..end], _rest.Slice(end, length));
            _rest = _rest[(end + length)..];
            return true;
        }
    }

    /// <summary>
    /// Finds event ends (an empty line) across reads, remembering how far it has looked, so a large event arriving in
    /// many small reads is scanned once.
    /// </summary>
    private sealed class EventScanner
    {
        private long _scanned;
        private bool _atLineStart = true;

        public bool TryReadEvent(ref ReadOnlySequence<byte> buffer, bool final, out ReadOnlySequence<byte> @event)
        {
            var reader = new SequenceReader<byte>(buffer);
            reader.Advance(_scanned);
            while (reader.TryPeek(out var b))
            {
                if (b is not ((byte)'\r' or (byte)'\n'))
                {
                    _atLineStart = false;
                    reader.Advance(1);
                    continue;
                }

                if (b == (byte)'\r')
                {
                    // CR may be followed by LF in the next read: one line ending, not two.
                    if (reader.Remaining == 1 && !final)
                    {
                        break;
                    }

                    reader.Advance(1);
                    if (reader.TryPeek(out var next) && next == (byte)'\n')
                    {
                        reader.Advance(1);
                    }
                }
                else
                {
                    reader.Advance(1);
                }

                if (_atLineStart)
                {
                    @event = buffer.Slice(0, reader.Position);
                    buffer = buffer.Slice(reader.Position);
                    _scanned = 0;
                    return true;
                }

                _atLineStart = true;
            }

            _scanned = reader.Consumed;
            @event = default;
            return false;
        }
    }
}

/// <summary>What <see cref="McpEventStreamFilter.CopyAsync"/> did: events copied, tools removed, answers refused, and
/// whether it reached the end of the stream (false: an event exceeded the size bound and the response must be aborted).</summary>
public readonly record struct McpStreamFilterResult(int Events, int Removed, int Refused, bool Completed);
