using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Dpop;

/// <summary>
/// The <c>htu</c> comparison of RFC 9449 section 4.3: the proof's URI and the request's URI, each without
/// query and fragment, after RFC 3986 syntax- and scheme-based normalisation (section 6.2.2 and 6.2.3):
/// scheme and host in lower case, the default port dropped, an empty path as <c>/</c>, percent-encoded
/// unreserved characters decoded and every other percent-encoding in upper-case hex. Dot segments are not
/// removed: the gateway refuses request paths with them, so a proof naming one can never match anyway.
/// </summary>
public static class DpopUri
{
    // RFC 3986 pchar plus '/': what a path may hold as is.
    private static readonly SearchValues<char> PathCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/");

    private static readonly SearchValues<char> HostCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

    private static readonly SearchValues<char> Ipv6Characters =
        SearchValues.Create("0123456789abcdefABCDEF:.");

    /// <summary>Longest URI compared; a longer <c>htu</c> cannot match any request Kestrel accepts.</summary>
    public const int MaxLength = 16 * 1024;

    /// <summary>The normalised form of an absolute http(s) URI, or null when it is not one.</summary>
    public static string? Normalize(ReadOnlySpan<char> uri)
    {
        if (uri.IsEmpty || uri.Length > MaxLength)
        {
            return null;
        }

        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            return null;
        }

        var scheme = uri[..schemeEnd];
        int defaultPort;
        if (scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
        {
            defaultPort = 443;
        }
        else if (scheme.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            defaultPort = 80;
        }
        else
        {
            return null;
        }

        var rest = uri[(schemeEnd + 3)..];
        var authorityEnd = rest.IndexOfAny('/', '?', '#');
        var authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
        var afterAuthority = authorityEnd < 0 ? [] : rest[authorityEnd..];
        var pathEnd = afterAuthority.IndexOfAny('?', '#');
        var path = pathEnd < 0 ? afterAuthority : afterAuthority[..pathEnd];

        var builder = new StringBuilder(uri.Length + 8);
        builder.Append(defaultPort == 443 ? "https://" : "http://");
        if (!AppendAuthority(builder, authority, defaultPort) || !AppendPath(builder, path))
        {
            return null;
        }

        return builder.ToString();
    }

    /// <summary>
    /// The URI this request was received at, normalised, or null when it cannot be told (no Host). The path is
    /// the raw request target as the client sent it; scheme and authority are <paramref name="publicBase"/> when
    /// configured (behind a load balancer), else the connection's scheme and the <c>Host</c> header.
    /// <c>X-Forwarded-*</c> headers are never consulted: any client can send them.
    /// </summary>
    public static string? ForRequest(HttpRequest request, Uri? publicBase)
    {
        ArgumentNullException.ThrowIfNull(request);
        var raw = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        string path;
        if (!string.IsNullOrEmpty(raw) && raw[0] == '/')
        {
            var end = raw.AsSpan().IndexOfAny('?', '#');
            path = end < 0 ? raw : raw[..end];
        }
        else
        {
            path = (request.PathBase + request.Path).ToUriComponent();
        }

        string origin;
        if (publicBase is not null)
        {
            // The base's own path is a prefix the load balancer strips before the gateway sees the request.
            origin = publicBase.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }
        else if (request.Host.HasValue)
        {
            origin = request.Scheme + "://" + request.Host.ToUriComponent();
        }
        else
        {
            return null;
        }

        return Normalize(origin + path);
    }

    private static bool AppendAuthority(StringBuilder builder, ReadOnlySpan<char> authority, int defaultPort)
    {
        // User info has no place in an http(s) URI (RFC 9110 section 4.2.4) and could hide the real host.
        if (authority.IsEmpty || authority.Contains('@'))
        {
            return false;
        }

        ReadOnlySpan<char> host;
        ReadOnlySpan<char> port;
        if (authority[0] == '[')
        {
            var close = authority.IndexOf(']');
            if (close < 2 || authority[1..close].ContainsAnyExcept(Ipv6Characters))
            {
                return false;
            }

            host = authority[..(close + 1)];
            var after = authority[(close + 1)..];
            if (!after.IsEmpty && after[0] != ':')
            {
                return false;
            }

            port = after.IsEmpty ? [] : after[1..];
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            port = colon < 0 ? [] : authority[(colon + 1)..];
            if (host.IsEmpty || host.ContainsAnyExcept(HostCharacters))
            {
                return false;
            }
        }

        foreach (var c in host)
        {
            builder.Append(char.ToLowerInvariant(c));
        }

        // An empty port means the default (RFC 3986 section 6.2.3); leading zeros do not change the number.
        if (port.IsEmpty)
        {
            return true;
        }

        if (port.Length > 5 || port.ContainsAnyExceptInRange('0', '9')
            || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > 65535)
        {
            return false;
        }

        if (number != defaultPort)
        {
            builder.Append(':').Append(number.ToString(CultureInfo.InvariantCulture));
        }

        return true;
    }

    private static bool AppendPath(StringBuilder builder, ReadOnlySpan<char> path)
    {
        if (path.IsEmpty)
        {
            builder.Append('/');
            return true;
        }

        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '%')
            {
                if (i + 2 >= path.Length || !char.IsAsciiHexDigit(path[i + 1]) || !char.IsAsciiHexDigit(path[i + 2]))
                {
                    return false;
                }

                var value = (char)byte.Parse(path.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                if (char.IsAsciiLetterOrDigit(value) || value is '-' or '.' or '_' or '~')
                {
                    builder.Append(value);
                }
                else
                {
                    AppendEncoded(builder, (byte)value);
                }

                i += 2;
            }
            else if (PathCharacters.Contains(c))
            {
                builder.Append(c);
            }
            else
            {
                // Characters a URI may not hold as is (non-ASCII, spaces...) compare as their UTF-8 percent-encoding,
                // the form a client on the wire would have sent.
                if (Rune.DecodeFromUtf16(path[i..], out var rune, out var consumed) != OperationStatus.Done)
                {
                    return false;
                }

                var written = rune.EncodeToUtf8(utf8);
                foreach (var b in utf8[..written])
                {
                    AppendEncoded(builder, b);
                }

                i += consumed - 1;
            }
        }

        return true;
    }

    private static void AppendEncoded(StringBuilder builder, byte value) =>
        builder.Append('%').Append(value.ToString("X2", CultureInfo.InvariantCulture));
}
