using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Gateway.Enforcement;

/// <summary>
/// The audit event's <c>outcome.bytes</c> and <c>outcome.body_sha256</c>: a write-through stream in front of the response
/// body that YARP copies the upstream's answer into, so every byte is counted and hashed on its way to the client and
/// none is kept.
/// </summary>
/// <remarks>
/// A chunk is counted when it is handed to the server, before the write completes: a write the client's going away
/// cut short may still have sent part of its chunk, so counting only completed writes would say the client got less
/// than it did. What crossed the boundary is never under-counted; a cut-off client may have got less than counted.
/// </remarks>
internal sealed class ResponseBodyDigest : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;

    private ResponseBodyDigest(Stream inner) => _inner = inner;

    /// <summary>Body bytes written through so far.</summary>
    public long BytesWritten => _length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Puts the hashing stream in front of the response body, for the forwarded call to write through.</summary>
    public static ResponseBodyDigest Install(HttpResponse response)
    {
        var digest = new ResponseBodyDigest(response.Body);
        response.Body = digest;
        return digest;
    }

    /// <summary>Gives the response its own body stream back, once the forwarded call is over.</summary>
    public void Uninstall(HttpResponse response)
    {
        if (ReferenceEquals(response.Body, this))
        {
            response.Body = _inner;
        }
    }

    /// <summary>Lowercase hex SHA-256 of what was written; null when nothing was (as for a request without a body).</summary>
    public string? Hex() => _length == 0 ? null : Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        _inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    // The response body belongs to the server; only the hash is this stream's.
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty)
        {
            _hash.AppendData(bytes);
            _length += bytes.Length;
        }
    }
}
