using System.Diagnostics.CodeAnalysis;

namespace Gateway.Tokens;

/// <summary>
/// An action grant, <c>service.object:verb</c>, where any whole part may be <c>*</c>
/// (<c>crm.*:read</c>, <c>crm.customers:*</c>). Parts compare ordinally.
/// </summary>
public sealed class ActionPattern
{
    private readonly string? _service;
    private readonly string? _object;
    private readonly string? _verb;

    private ActionPattern(string text, string? service, string? obj, string? verb)
    {
        Text = text;
        _service = service;
        _object = obj;
        _verb = verb;
    }

    public string Text { get; }

    public static bool TryParse(string text, [NotNullWhen(true)] out ActionPattern? pattern)
    {
        pattern = null;
        if (!TrySplit(text, out var service, out var obj, out var verb))
        {
            return false;
        }

        pattern = new ActionPattern(
            text,
            service is "*" ? null : service.ToString(),
            obj is "*" ? null : obj.ToString(),
            verb is "*" ? null : verb.ToString());
        return true;
    }

    /// <summary>True when <paramref name="action"/> is a concrete, well-formed action this pattern grants.</summary>
    public bool Matches(string action)
    {
        if (!TrySplit(action, out var service, out var obj, out var verb) || service is "*" || obj is "*" || verb is "*")
        {
            return false;
        }

        return (_service is null || service.SequenceEqual(_service))
            && (_object is null || obj.SequenceEqual(_object))
            && (_verb is null || verb.SequenceEqual(_verb));
    }

    /// <summary>True when everything <paramref name="other"/> grants, this pattern grants too (used to check that delegation only narrows).</summary>
    public bool Covers(ActionPattern other) =>
        Covers(_service, other._service) && Covers(_object, other._object) && Covers(_verb, other._verb);

    public override string ToString() => Text;

    private static bool Covers(string? mine, string? theirs) => mine is null || (theirs is not null && string.Equals(mine, theirs, StringComparison.Ordinal));

    private static bool TrySplit(ReadOnlySpan<char> text, out ReadOnlySpan<char> service, out ReadOnlySpan<char> obj, out ReadOnlySpan<char> verb)
    {
        service = obj = verb = default;
        var colon = text.IndexOf(':');
        if (colon <= 0 || colon != text.LastIndexOf(':'))
        {
            return false;
        }

        var noun = text[..colon];
        verb = text[(colon + 1)..];
        var dot = noun.IndexOf('.');
        if (dot <= 0)
        {
            return false;
        }

        service = noun[..dot];
        obj = noun[(dot + 1)..];
        return IsPart(service) && IsPart(obj) && IsPart(verb);
    }

    // A part is '*' alone or a run of [A-Za-z0-9_-.] (objects may be dotted: crm.customers.notes).
    private static bool IsPart(ReadOnlySpan<char> part)
    {
        if (part.IsEmpty)
        {
            return false;
        }

        if (part is "*")
        {
            return true;
        }

        foreach (var c in part)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return false;
            }
        }

        return part[0] != '.' && part[^1] != '.';
    }
}
