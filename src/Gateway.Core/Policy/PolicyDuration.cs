namespace Gateway.Policy;

/// <summary>
/// The duration syntax of the policy file (and of CLI flags such as <c>--ttl</c>): one or more
/// <c>NUMBER UNIT</c> pairs with no spaces, units <c>d</c>, <c>h</c>, <c>m</c>, <c>s</c>, <c>ms</c>,
/// largest first, each at most once: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h30m</c>, <c>1d</c>.
/// </summary>
/// <remarks>
/// Deliberately narrower than <see cref="TimeSpan.Parse(string)"/>: <c>00:05</c> reads as five minutes
/// to some people and five hours to others, and a policy value must mean one thing to everyone.
/// Zero (<c>0s</c>) parses; whether zero makes sense is up to the key that uses it.
/// </remarks>
public static class PolicyDuration
{
    private static readonly (string Suffix, long TicksPerUnit)[] Units =
    [
        ("d", TimeSpan.TicksPerDay),
        ("h", TimeSpan.TicksPerHour),
        ("ms", TimeSpan.TicksPerMillisecond),
        ("m", TimeSpan.TicksPerMinute),
        ("s", TimeSpan.TicksPerSecond),
    ];

    /// <summary>The order units must appear in; "ms" is tried before "m" above only so that it is not read as minutes.</summary>
    private static readonly string[] Order = ["d", "h", "m", "s", "ms"];

    private const long MaxTicks = long.MaxValue / 2;

    /// <summary>A short description of the syntax, for error messages.</summary>
    public const string SyntaxHint = "use a whole number and a unit: 500ms, 30s, 5m, 1h, 1d, or a combination such as 1h30m";

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        long ticks = 0;
        var lastOrder = -1;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            // Nine digits is already 31 years in seconds; more is a typo.
            if (i == start || i - start > 9)
            {
                return false;
            }

            var number = long.Parse(text.AsSpan(start, i - start), System.Globalization.CultureInfo.InvariantCulture);
            var unit = Array.FindIndex(Units, u => text.AsSpan(i).StartsWith(u.Suffix, StringComparison.Ordinal));
            if (unit < 0)
            {
                return false;
            }

            var (suffix, ticksPerUnit) = Units[unit];
            var order = Array.IndexOf(Order, suffix);
            if (order <= lastOrder)
            {
                return false;
            }

            // Checked before multiplying, since 999999999d would overflow a long; half of
            // TimeSpan.MaxValue leaves callers room to add a duration to a time.
            if (number > (MaxTicks - ticks) / ticksPerUnit)
            {
                return false;
            }

            lastOrder = order;
            i += suffix.Length;
            ticks += number * ticksPerUnit;
        }

        value = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>Writes <paramref name="value"/> in the policy syntax (<c>1h30m</c>); the inverse of <see cref="TryParse"/> to the millisecond.</summary>
    public static string Format(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var builder = new System.Text.StringBuilder();
        Append(builder, value.Days, "d");
        Append(builder, value.Hours, "h");
        Append(builder, value.Minutes, "m");
        Append(builder, value.Seconds, "s");
        Append(builder, value.Milliseconds, "ms");
        return builder.ToString();

        static void Append(System.Text.StringBuilder builder, int amount, string unit)
        {
            if (amount > 0)
            {
                builder.Append(amount.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(unit);
            }
        }
    }
}
