using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Enforcement;

/// <summary>
/// Refuses request targets that could make the path the gateway checks differ from the path an
/// upstream reads: encoded slashes or backslashes, encoded or literal dot segments, doubled
/// slashes and encoded control characters. Kestrel already decodes and removes plain dot
/// segments, but an upstream behind another proxy may decode again, so such targets are
/// refused rather than trusted to normalise the same way twice.
/// </summary>
public static class RequestPathGuard
{
    /// <summary>Returns null when the target is safe, else a sentence saying what is wrong.</summary>
    public static string? Check(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        var target = raw.AsSpan();
        if (target[0] != '/')
        {
            // Absolute-form (a proxy request) and '*' have no place at an API gateway.
            return "The request target must be an origin-form path starting with '/'.";
        }

        var query = target.IndexOfAny('?', '#');
        var path = query < 0 ? target : target[..query];
        return CheckPath(path);
    }

    public static string? CheckPath(ReadOnlySpan<char> path)
    {
        if (path.Contains("//", StringComparison.Ordinal))
        {
            return "The path contains an empty segment ('//').";
        }

        if (path.Contains('\\'))
        {
            return "The path contains a backslash.";
        }

        var percent = path.IndexOf('%');
        while (percent >= 0)
        {
            if (percent + 2 >= path.Length || !char.IsAsciiHexDigit(path[percent + 1]) || !char.IsAsciiHexDigit(path[percent + 2]))
            {
                return "The path contains a malformed percent-encoding.";
            }

            var value = byte.Parse(path.Slice(percent + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            if (value is (byte)'/' or (byte)'\\' or (byte)'.' or (byte)'%' || value < 0x20 || value == 0x7F)
            {
                return "The path contains an encoded '/', '\\', '.', '%' or control character.";
            }

            var next = path[(percent + 3)..].IndexOf('%');
            percent = next < 0 ? -1 : percent + 3 + next;
        }

        foreach (var range in path.Split('/'))
        {
            // Servlet containers drop a segment's ';' parameters before they resolve dot segments, so '..;x' is '..' to them.
            var segment = path[range];
            var parameters = segment.IndexOf(';');
            if ((parameters < 0 ? segment : segment[..parameters]) is "." or "..")
            {
                return "The path contains a dot segment ('.' or '..', also with ';' parameters).";
            }
        }

        // Percent-encoded bytes must be valid UTF-8: an overlong form such as %C0%AF is '/' to some old decoders, and
        // a server that decodes it so would read a path other than the one checked. Found by the hostile-input suite.
        return HasValidPercentEncodedUtf8(path) ? null : "The path contains percent-encoded bytes that are not valid UTF-8.";
    }

    private static bool HasValidPercentEncodedUtf8(ReadOnlySpan<char> path)
    {
        if (!path.Contains('%'))
        {
            return true;
        }

        // Every byte the path stands for: escapes as their byte, other characters as their UTF-8.
        var bytes = new List<byte>(path.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%')
            {
                bytes.Add(byte.Parse(path.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                i += 2;
            }
            else if (System.Text.Rune.DecodeFromUtf16(path[i..], out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                var written = rune.EncodeToUtf8(utf8);
                bytes.AddRange(utf8[..written]);
                i += consumed - 1;
            }
            else
            {
                return false;
            }
        }

        return System.Text.Unicode.Utf8.IsValid(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }
}
