using System.Diagnostics.CodeAnalysis;

namespace Gateway.Tokens;

/// <summary>
/// A resource grant, <c>service:type/id[/...]</c>. <c>*</c> as a whole segment matches exactly one
/// segment; a trailing <c>/**</c> matches zero or more further segments. Everything else compares
/// ordinally (resource ids are case-sensitive).
/// </summary>
public sealed class ResourcePattern
{
    private const string AnyOne = "*";
    private const string AnyRest = "**";

    private readonly string _service;
    private readonly string[] _segments;
    private readonly bool _openEnded;

    private ResourcePattern(string text, string service, string[] segments, bool openEnded)
    {
        Text = text;
        _service = service;
        _segments = segments;
        _openEnded = openEnded;
    }

    public string Text { get; }

    public static bool TryParse(string text, [NotNullWhen(true)] out ResourcePattern? pattern)
    {
        pattern = null;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        var service = text[..colon];
        if (!IsSegment(service, allowWildcard: true))
        {
            return false;
        }

        var segments = text[(colon + 1)..].Split('/');
        var openEnded = segments[^1] == AnyRest;
        if (openEnded)
        {
            segments = segments[..^1];
            if (segments.Length == 0)
            {
                return false;
            }
        }

        foreach (var segment in segments)
        {
            if (!IsSegment(segment, allowWildcard: true))
            {
                return false;
            }
        }

        pattern = new ResourcePattern(text, service, segments, openEnded);
        return true;
    }

    /// <summary>True when the concrete <paramref name="resource"/> is granted by this pattern.</summary>
    public bool Matches(ReadOnlySpan<char> resource)
    {
        var colon = resource.IndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        var service = resource[..colon];
        if (!IsSegment(service, allowWildcard: false) || !(_service is AnyOne || service.SequenceEqual(_service)))
        {
            return false;
        }

        var rest = resource[(colon + 1)..];
        var index = 0;
        foreach (var range in rest.Split('/'))
        {
            var segment = rest[range];
            if (!IsSegment(segment, allowWildcard: false))
            {
                return false;
            }

            if (index >= _segments.Length)
            {
                if (!_openEnded)
                {
                    return false;
                }

                index++;
                continue;
            }

            var expected = _segments[index];
            if (expected != AnyOne && !segment.SequenceEqual(expected))
            {
                return false;
            }

            index++;
        }

        return index >= _segments.Length;
    }

    /// <summary>True when everything <paramref name="other"/> grants, this pattern grants too.</summary>
    public bool Covers(ResourcePattern other)
    {
        if (_service != AnyOne && !string.Equals(_service, other._service, StringComparison.Ordinal))
        {
            return false;
        }

        if (other._openEnded && !_openEnded)
        {
            return false;
        }

        if (other._segments.Length < _segments.Length || (!_openEnded && other._segments.Length != _segments.Length))
        {
            return false;
        }

        for (var i = 0; i < _segments.Length; i++)
        {
            var mine = _segments[i];
            if (mine != AnyOne && !string.Equals(mine, other._segments[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;

    private static bool IsSegment(ReadOnlySpan<char> segment, bool allowWildcard)
    {
        if (segment.IsEmpty)
        {
            return false;
        }

        if (segment is AnyOne)
        {
            return allowWildcard;
        }

        if (segment is "." or "..")
        {
            return false;
        }

        foreach (var c in segment)
        {
            if (c is '*' or '/' or ':' || char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        return true;
    }
}
