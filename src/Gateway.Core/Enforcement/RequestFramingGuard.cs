using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Enforcement;

/// <summary>
/// Refuses, before routing, requests whose framing or header values another HTTP component could read differently
/// from Kestrel. Kestrel accepts both <c>Content-Length</c> and <c>Transfer-Encoding</c> (letting the latter win, as
/// RFC 9112 allows) and control characters in header values; either would be forwarded as is, and a proxy or server
/// behind the gateway that resolved them another way could be made to see a request the gateway never checked
/// (request smuggling, header splitting). Found by the hostile-input suite (<c>HttpFuzzTests</c>).
/// </summary>
public static class RequestFramingGuard
{
    // RFC 9110 section 5.5: a field value holds visible characters, spaces, tabs and obs-text; never another control.
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000a\u000b\u000c\u000d\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");

    private const string KestrelMovedContentLength = "X-Content-Length";

    /// <summary>Returns null when the request is safe to evaluate and forward, else a sentence saying what is wrong.</summary>
    public static string? Check(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Request.Headers;

        // RFC 9112 section 6.1: a sender must not send both, and a server may refuse such a request; the gateway does,
        // since the two lengths are exactly what smuggling plays on. Kestrel moves the Content-Length it ignored into
        // X-Content-Length, which is how it is seen here.
        if (headers.ContainsKey(HeaderNames.TransferEncoding)
            && (headers.ContainsKey(HeaderNames.ContentLength) || headers.ContainsKey(KestrelMovedContentLength)))
        {
            return "The request has both Content-Length and Transfer-Encoding; send one.";
        }

        foreach (var header in headers)
        {
            foreach (var value in header.Value)
            {
                if (value is not null && value.AsSpan().ContainsAny(ControlCharacters))
                {
                    return "A request header value contains a control character.";
                }
            }
        }

        return null;
    }
}
