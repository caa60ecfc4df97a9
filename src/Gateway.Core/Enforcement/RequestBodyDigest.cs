using System.Buffers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Enforcement;

/// <summary>
/// The audit event's <c>request.body_sha256</c>. A forwarded call's body is hashed as YARP streams it to the upstream,
/// through this read-through stream, so no body is held in memory for its digest; a refused call's body is read once,
/// chunk by chunk, into the hash and dropped. A request that carries no body bytes has no digest.
/// </summary>
internal sealed class RequestBodyDigest : Stream
{
    private const int ChunkSize = 16 * 1024;

    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;
    private bool _ended;

    private RequestBodyDigest(Stream inner) => _inner = inner;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>True when the request may carry body bytes: a positive <c>Content-Length</c>, or a chunked or streamed body.</summary>
    public static bool HasBody(HttpRequest request) =>
        request.ContentLength is { } length
            ? length > 0
            : request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true };

    /// <summary>Puts the hashing stream in front of the request body, for the forwarded call to read through.</summary>
    public static RequestBodyDigest Install(HttpRequest request)
    {
        var digest = new RequestBodyDigest(request.Body);
        request.Body = digest;
        return digest;
    }

    /// <summary>Gives the request its own body stream back, once the forwarded call is over.</summary>
    public void Uninstall(HttpRequest request)
    {
        if (ReferenceEquals(request.Body, this))
        {
            request.Body = _inner;
        }
    }

    /// <summary>
    /// The digest of a body that is not forwarded: null when there is none, when it is larger than
    /// <paramref name="limit"/> (it is then not read past the limit) or when it cannot be read to its end.
    /// </summary>
    public static async ValueTask<string?> ComputeAsync(HttpRequest request, long limit)
    {
        if (!HasBody(request) || request.ContentLength > limit)
        {
            return null;
        }

        var body = request.Body;
        if (body.CanSeek)
        {
            // Buffered by an earlier check (a chunked body under the size limit), possibly read already.
            body.Position = 0;
        }

        using var digest = new RequestBodyDigest(body);
        return await digest.DrainAsync(limit, request.HttpContext.RequestAborted) ? digest.Hex() : null;
    }

    /// <summary>
    /// After the forwarded call: the digest, once the body has been read to its end. An upstream that answered without
    /// reading all of it leaves the rest to be read here, as Kestrel would to keep the connection, except when the
    /// client waits for <c>100 Continue</c>: it was never sent, so the rest may never come.
    /// </summary>
    public async ValueTask<string?> FinishAsync(HttpRequest request, long limit)
    {
        if (!_ended
            && (request.Headers.Expect.ToString().Contains("100-continue", StringComparison.OrdinalIgnoreCase)
                || !await DrainAsync(limit, request.HttpContext.RequestAborted)))
        {
            return null;
        }

        return Hex();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = _inner.Read(buffer);
        Append(buffer[..read], buffer.IsEmpty);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _inner.ReadAsync(buffer, cancellationToken);
        Append(buffer.Span[..read], buffer.IsEmpty);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // The request body belongs to the server; only the hash is this stream's.
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    // A read of nothing into a buffer of something is the end of the body; a read into an empty buffer says nothing.
    private void Append(ReadOnlySpan<byte> bytes, bool askedForNothing)
    {
        if (bytes.IsEmpty)
        {
            _ended |= !askedForNothing;
            return;
        }

        _hash.AppendData(bytes);
        _length += bytes.Length;
    }

    private string? Hex() => _length == 0 ? null : Convert.ToHexStringLower(_hash.GetHashAndReset());

    private async ValueTask<bool> DrainAsync(long limit, CancellationToken cancellationToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (!_ended)
            {
                // Only the digest is wanted, so however much one read returns is fine.
                _ = await ReadAsync(chunk.AsMemory(0, ChunkSize), cancellationToken);
                if (_length > limit)
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            // The client went away or broke the framing: there is no whole body to take the digest of.
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
