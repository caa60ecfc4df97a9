using Gateway.Policy;

namespace Gateway.Tokens;

/// <summary>The claim spellings of <see cref="IntentMethod"/> (<c>cap.intent.method</c>).</summary>
public static class IntentMethods
{
    public const string Policy = "policy";
    public const string Explicit = "explicit";
    public const string StepUp = "step_up";

    public static string ToClaimValue(IntentMethod method) => method switch
    {
        IntentMethod.Policy => Policy,
        IntentMethod.Explicit => Explicit,
        IntentMethod.StepUp => StepUp,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown intent method."),
    };

    /// <summary>Exact, case-sensitive: claim values are protocol words, not prose.</summary>
    public static bool TryParse(string? value, out IntentMethod method)
    {
        switch (value)
        {
            case Policy:
                method = IntentMethod.Policy;
                return true;
            case Explicit:
                method = IntentMethod.Explicit;
                return true;
            case StepUp:
                method = IntentMethod.StepUp;
                return true;
            default:
                method = default;
                return false;
        }
    }

    /// <summary>True for <c>sha256:</c> followed by 64 hex digits.</summary>
    public static bool IsValidEvidence(ReadOnlySpan<char> evidence) =>
        evidence.Length == 71
        && evidence.StartsWith("sha256:", StringComparison.Ordinal)
        && IsHex(evidence[7..]);

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
