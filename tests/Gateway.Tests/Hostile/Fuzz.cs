using System.Globalization;
using System.Text;
using CsCheck;
using Xunit.Abstractions;

namespace Gateway.Testing;

/// <summary>
/// Runs a property over a fixed number of generated cases, deterministically: CsCheck's generators drawn from a PCG
/// seeded with one number, so a run is the same on every machine and any failure is reproduced by its seed. The seed
/// is <see cref="DefaultSeed"/> unless <c>GATEWAY_FUZZ_SEED</c> sets another (CI can vary it); each property draws
/// from its own PCG stream, so the cases of one do not depend on which others ran first. Every run reports its seed
/// and counts to the test output and, when <c>GATEWAY_FUZZ_REPORT</c> names a file, appends them there for the CI log.
/// Linked into both test projects.
/// </summary>
public static class Fuzz
{
    public const ulong DefaultSeed = 20_261_126;

    public static ulong Seed { get; } = ReadSeed();

    public static void Run<T>(ITestOutputHelper output, string property, Gen<T> gen, int cases, Action<T> check, Func<T, string>? print = null) =>
        RunAsync(output, property, gen, cases, value =>
        {
            check(value);
            return Task.CompletedTask;
        }, print).GetAwaiter().GetResult();

    public static async Task RunAsync<T>(ITestOutputHelper output, string property, Gen<T> gen, int cases, Func<T, Task> check, Func<T, string>? print = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var pcg = new PCG(Stream(property), Seed);
        for (var i = 0; i < cases; i++)
        {
            var value = gen.Generate(pcg, null!, out _);
            try
            {
                await check(value);
            }
            catch (Exception ex)
            {
                var shown = Truncate(print is null ? value?.ToString() ?? "null" : print(value));
                var message = $"fuzz {property}: case {i + 1} of {cases} failed with GATEWAY_FUZZ_SEED={Seed}: {shown}";
                Report(output, message);
                throw new InvalidOperationException(message, ex);
            }
        }

        Report(output, $"fuzz {property}: {cases} cases passed (GATEWAY_FUZZ_SEED={Seed})");
    }

    /// <summary>Printable form of arbitrary text: control and non-ASCII characters escaped.</summary>
    public static string Printable(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is >= ' ' and <= '~')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static string Truncate(string text) => text.Length <= 600 ? Printable(text) : Printable(text[..600]) + $"... ({text.Length} characters)";

    private static void Report(ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("GATEWAY_FUZZ_REPORT") is { Length: > 0 } file)
        {
            lock (typeof(Fuzz))
            {
                File.AppendAllText(file, line + Environment.NewLine);
            }
        }
    }

    // FNV-1a over the property's name: a stable stream number (string.GetHashCode differs per process).
    private static uint Stream(string property)
    {
        var hash = 2166136261u;
        foreach (var c in property)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private static ulong ReadSeed()
    {
        var text = Environment.GetEnvironmentVariable("GATEWAY_FUZZ_SEED");
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seed) ? seed : DefaultSeed;
    }
}
