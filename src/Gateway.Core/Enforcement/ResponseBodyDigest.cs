using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Gateway.Enforcement;

/// <summary>
/// The audit event's <c>outcome.bytes</c> and <c>outcome.body_sha256</c>: a write-through stream in front of the response
/// body that YARP copies the upstream's answer into, so every byte is counted and hashed on its way to the client and
/// none is kept. Bytes are counted once the server accepted them, so a write that failed (the client went away) is not
/// counted as received.
/// </summary>
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
        _inner.Write(buffer);
        Append(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var write = _inner.WriteAsync(buffer, cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            Append(buffer.Span);
            return ValueTask.CompletedTask;
        }

        return AwaitWrite(write, buffer);
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

    private async ValueTask AwaitWrite(ValueTask write, ReadOnlyMemory<byte> buffer)
    {
        await write;
        Append(buffer.Span);
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
