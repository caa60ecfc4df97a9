using System.Globalization;

namespace Gateway.Enforcement;

/// <summary>Small integers rendered without allocating (budget headers are usually 0..100).</summary>
internal static class Numbers
{
    private static readonly string[] Small = Enumerable.Range(0, 1025).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    public static string ToString(int value) =>
        (uint)value < (uint)Small.Length ? Small[value] : value.ToString(CultureInfo.InvariantCulture);
}
