using System.Text;
using Gateway.Audit;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Enforcement;

/// <summary>The <c>outcome</c> of a forwarded call, from what YARP reports and what went through <see cref="ResponseBodyDigest"/>.</summary>
internal static class UpstreamOutcome
{
    public static AuditOutcome Of(HttpContext context, ResponseBodyDigest answer, TimeSpan duration)
    {
        var response = context.Response;
        var error = context.Features.Get<IForwarderErrorFeature>()?.Error ?? ForwarderError.None;
        var bytes = answer.BytesWritten;

        // A failure before the upstream's answer began (unreachable, timed out, refused the request) leaves the gateway's
        // own 502 or 504 in the response: that is not the upstream's status.
        int? status = error == ForwarderError.None || response.HasStarted ? response.StatusCode : null;
        var errorText = error == ForwarderError.None ? null : Words(error);

        // A body that fell short of its Content-Length is cut off even when nothing reported it.
        if (errorText is null && ExpectsBody(context, response.StatusCode) && response.ContentLength is { } length && bytes != length)
        {
            errorText = "incomplete";
        }

        return new AuditOutcome
        {
            Status = status,
            Bytes = bytes,
            BodySha256 = answer.Hex(),
            DurationMs = (long)duration.TotalMilliseconds,
            Complete = errorText is null,
            Error = errorText,
        };
    }

    private static bool ExpectsBody(HttpContext context, int status) =>
        !HttpMethods.IsHead(context.Request.Method) && status is not (StatusCodes.Status204NoContent or StatusCodes.Status304NotModified) and >= 200;

    // ForwarderError's names in the event's spelling: ResponseBodyClient is response_body_client.
    private static string Words(ForwarderError error)
    {
        var name = error.ToString();
        var words = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    words.Append('_');
                }

                words.Append(char.ToLowerInvariant(c));
            }
            else
            {
                words.Append(c);
            }
        }

        return words.ToString();
    }
}
