using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Approvals;

/// <summary>What an approval binds of a request body: its SHA-256, and for a new request a redacted preview.</summary>
public sealed record RequestBody(string Sha256, long Length, string? ContentType, string? Preview, bool PreviewTruncated)
{
    private const int ChunkSize = 16 * 1024;

    /// <summary>The SHA-256 of no bytes: the digest of a call without a body.</summary>
    public static readonly string EmptySha256 = Convert.ToHexStringLower(SHA256.HashData([]));

    /// <summary>
    /// Reads the whole body to take its digest, then rewinds it so the proxy still forwards it. Only
    /// calls that ask for or carry an approval come here, so no other call pays for buffering.
    /// Returns null, having read no more than <paramref name="maxBytes"/> + 1 bytes, when the body is larger.
    /// </summary>
    public static async ValueTask<RequestBody?> ReadAsync(HttpRequest request, int maxBytes, BodyPreview? preview, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var contentType = request.ContentType;
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        if (request.ContentLength == 0 || request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return new RequestBody(EmptySha256, 0, contentType, null, false);
        }

        // Reading stops one chunk past the limit at most, so the buffer needs no limit of its own.
        request.EnableBuffering(bufferThreshold: Math.Min(maxBytes, 64 * 1024));
        using var copy = new MemoryStream();
        var chunk = new byte[ChunkSize];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            copy.Write(chunk, 0, read);
            if (copy.Length > maxBytes)
            {
                return null;
            }
        }

        request.Body.Position = 0;
        var bytes = copy.GetBuffer().AsMemory(0, (int)copy.Length);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
        var (text, truncated) = preview is null ? (null, false) : preview.Render(bytes.Span, contentType);
        return new RequestBody(sha256, bytes.Length, contentType, text, truncated);
    }
}
