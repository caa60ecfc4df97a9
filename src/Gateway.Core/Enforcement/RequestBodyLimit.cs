using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Gateway.Enforcement;

/// <summary>
/// <c>gateway.max_request_body_bytes</c>, applied before a call is evaluated or forwarded. YARP streams bodies to the
/// upstream as they arrive, so a limit enforced only while streaming (Kestrel's <c>MaxRequestBodySize</c>) would refuse
/// a call the upstream had already started to receive. A declared length is judged at once; a body of unknown length
/// (chunked) is read into a buffer, up to the limit, before the decision. Found by the hostile-input suite.
/// </summary>
public static class RequestBodyLimit
{
    // Small bodies stay in memory; larger ones spill to a temporary file, so the limit bounds disk, not memory.
    private const int MemoryThreshold = 30 * 1024;

    /// <summary>Null when the body fits (a chunked one is then buffered and rewound), else a sentence for the 413.</summary>
    public static async ValueTask<string?> CheckAsync(HttpContext context, long limit)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (request.ContentLength is { } length)
        {
            return length > limit ? TooLarge(limit) : null;
        }

        // No declared length: a body only when chunked (HTTP/1.1) or streamed (HTTP/2 and 3 without content-length).
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + 1;
        }

        request.EnableBuffering(MemoryThreshold, limit);
        try
        {
            await request.Body.DrainAsync(context.RequestAborted);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            // Kestrel's own refusals (broken chunk framing...) keep their status; only its size limit is ours to word.
            if (ex.StatusCode != StatusCodes.Status413PayloadTooLarge)
            {
                throw;
            }

            return TooLarge(limit);
        }
        catch (IOException)
        {
            // The buffer's limit: the body went past it.
            return TooLarge(limit);
        }

        request.Body.Position = 0;
        return null;
    }

    private static string TooLarge(long limit) =>
        $"The request body is larger than this gateway accepts ({limit} bytes, gateway.max_request_body_bytes).";
}
