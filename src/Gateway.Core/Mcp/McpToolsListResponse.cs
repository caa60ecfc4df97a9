using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace Gateway.Mcp;

/// <summary>
/// The response body while an answer to <c>tools/list</c> is on its way back: YARP writes the upstream's answer here,
/// and the agent receives it filtered to the tools its token may call. A JSON answer is held (bounded) and filtered
/// once complete; an event stream is filtered event by event as it arrives, so progress and server requests that
/// share the stream are never held back; anything else passes through untouched.
/// </summary>
internal sealed class McpToolsListResponse : Stream
{
    private readonly Stream _inner;
    private readonly HttpResponse _response;
    private readonly McpToolsListFilterOptions _options;
    private Mode _mode;
    private MemoryStream? _json;
    private bool _tooLarge;
    private Pipe? _pipe;
    private Task<McpStreamFilterResult>? _copy;

    public McpToolsListResponse(HttpResponse response, McpToolsListFilterOptions options)
    {
        _response = response;
        _inner = response.Body;
        _options = options;
    }

    private enum Mode
    {
        Unknown,
        PassThrough,
        Json,
        EventStream,
    }

    /// <summary>True when the answer is rewritten, so its upstream <c>Content-Length</c> no longer holds.</summary>
    public static bool Rewrites(string? contentType) => Kind(contentType) != Mode.PassThrough;

    /// <summary>The response body this one stands in front of.</summary>
    public Stream InnerStream => _inner;

    /// <summary>Tools removed from the answers, for the log and tests.</summary>
    public int Removed { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _mode == Mode.PassThrough ? _inner.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_mode == Mode.Unknown)
        {
            Start();
        }

        switch (_mode)
        {
            case Mode.PassThrough:
                await _inner.WriteAsync(buffer, cancellationToken);
                break;
            case Mode.Json:
                if (_json!.Length + buffer.Length > _options.MaxBytes)
                {
                    _tooLarge = true;
                    return;
                }

                _json.Write(buffer.Span);
                break;
            default:
                var flushed = await _pipe!.Writer.WriteAsync(buffer, cancellationToken);
                if (flushed.IsCompleted)
                {
                    // The filter stopped reading (an event too large to read safely): the rest must not pass unread.
                    throw new IOException("The tools/list answer could not be filtered; the response was cut off.");
                }

                break;
        }
    }

    /// <summary>Writes what is held and waits for the stream filter; call once YARP has copied the whole answer.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        switch (_mode)
        {
            case Mode.Json:
                await WriteJsonAsync(cancellationToken);
                break;
            case Mode.EventStream:
                await _pipe!.Writer.CompleteAsync();
                var result = await _copy!;
                Removed += result.Removed;
                break;
        }
    }

    private void Start()
    {
        _mode = Kind(_response.ContentType);
        if (_mode == Mode.Json)
        {
            _json = new MemoryStream();
        }
        else if (_mode == Mode.EventStream)
        {
            _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
            _copy = McpEventStreamFilter.CopyAsync(_pipe.Reader.AsStream(), _inner, _options);
        }
    }

    private async Task WriteJsonAsync(CancellationToken cancellationToken)
    {
        var held = _json!.GetBuffer().AsMemory(0, (int)_json.Length);
        var result = _tooLarge ? McpFilterResult.Refuse("the answer is larger than the filter reads") : McpToolsListFilter.FilterJson(held, _options);
        Removed += result.Removed;
        switch (result.Outcome)
        {
            case McpFilterOutcome.Unchanged:
                await _inner.WriteAsync(held, cancellationToken);
                break;
            case McpFilterOutcome.Filtered:
                await _inner.WriteAsync(result.Body, cancellationToken);
                break;
            default:
                // An answer the filter cannot read might list tools it could not see: the agent gets an error instead.
                var id = _options.ResponseIds?.FirstOrDefault();
                await _inner.WriteAsync(JsonRpcErrorWriter.Error(id, JsonRpcError.InternalErrorCode, $"The gateway could not filter the tools/list answer ({result.Reason}), so it was withheld."), cancellationToken);
                break;
        }
    }

    private static Mode Kind(string? contentType)
    {
        var type = contentType.AsSpan();
        var semicolon = type.IndexOf(';');
        if (semicolon >= 0)
        {
            type = type[..semicolon];
        }

        type = type.Trim();
        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Mode.Json;
        }

        return type.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase) ? Mode.EventStream : Mode.PassThrough;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _json?.Dispose();
        }

        base.Dispose(disposing);
    }
}
