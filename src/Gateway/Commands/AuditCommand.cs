using System.CommandLine;
using System.Globalization;
using Gateway.Audit;

namespace Gateway.Host.Commands;

/// <summary>
/// <c>gateway audit verify FILE...</c> (exit 0 intact, 1 broken naming the first bad line, 2 when a
/// file cannot be read) and <c>gateway audit export --format ocsf|jsonl FILE...</c> (to standard output).
/// </summary>
internal static class AuditCommand
{
    /// <summary>The chains verified, or exported, as given.</summary>
    public const int Intact = 0;

    /// <summary>A chain is broken (verify) or a line is not an audit event (export).</summary>
    public const int Broken = 1;

    /// <summary>A file is missing or unreadable: nothing can be said about the chain.</summary>
    public const int Unreadable = 2;

    public static Command Create() => new("audit", "Check and export the audit trail (hash-chained JSON Lines).")
    {
        CreateVerify(),
        CreateExport(),
        AuditReportCommand.Create(),
    };

    private static Command CreateVerify()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Audit files. A live file (decisions.jsonl) brings its rotated files (decisions-STAMP-SEQ.jsonl) with it, oldest first.",
            Arity = ArgumentArity.OneOrMore,
        };
        var window = new Option<bool>("--window")
        {
            Description = "Verify a window of the chain: chains need not start at seq 1 (older files deleted by retention, a trimmed Redis stream).",
        };
        var command = new Command("verify", "Check the hash chains; exit 0 intact, 1 broken (naming the first bad file:line), 2 unreadable.") { files, window };
        command.SetAction(async (result, _) =>
        {
            var expanded = ExpandChains(result.GetValue(files)!);
            if (expanded.Missing is { } missing)
            {
                await Console.Error.WriteLineAsync($"{missing}: no such audit file (and no rotated files beside it)");
                return Unreadable;
            }

            AuditVerificationResult verified;
            try
            {
                verified = AuditVerifier.Verify(expanded.Files, new AuditVerifierOptions { RequireChainStart = !result.GetValue(window) });
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return Unreadable;
            }

            if (!verified.IsValid)
            {
                await Console.Error.WriteLineAsync(verified.ToString());
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"broken: {verified.Events} event(s) verified before the break, in {expanded.Files.Count} file(s)"));
                return Broken;
            }

            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{verified}, {expanded.Files.Count} file(s)"));
            foreach (var chain in verified.Chains)
            {
                // The heads are what to anchor elsewhere (see docs/audit.md, Verification).
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"replica {chain.Replica}: seq {chain.FirstSeq}..{chain.LastSeq}, {chain.Events} events, head {chain.LastHash}"));
            }

            foreach (var file in expanded.Files)
            {
                await Console.Out.WriteLineAsync($"  {file}");
            }

            return Intact;
        });
        return command;
    }

    private static Command CreateExport()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Audit files, exported in the order given (rotated files are not added: name them).",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format")
        {
            Description = "ocsf: OCSF 1.3 API Activity (class_uid 6003), one JSON object a line; jsonl: the lines as they are.",
            DefaultValueFactory = _ => "ocsf",
        };
        format.AcceptOnlyFromAmong("ocsf", "jsonl");
        var command = new Command("export", "Write audit events to standard output, as OCSF or as they are.") { format, files };
        command.SetAction(async (result, cancellationToken) =>
        {
            var paths = result.GetValue(files)!;
            if (paths.FirstOrDefault(p => !File.Exists(p)) is { } missing)
            {
                await Console.Error.WriteLineAsync($"{missing}: no such audit file");
                return Unreadable;
            }

            await using var stdout = Console.OpenStandardOutput();
            try
            {
                if (result.GetValue(format) == "jsonl")
                {
                    await PassThroughAsync(paths, stdout, cancellationToken);
                }
                else
                {
                    await OcsfExporter.ExportAsync(paths, stdout, cancellationToken: cancellationToken);
                }
            }
            catch (FormatException ex)
            {
                await stdout.FlushAsync(cancellationToken);
                await Console.Error.WriteLineAsync(ex.Message);
                return Broken;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return Unreadable;
            }

            return Intact;
        });
        return command;
    }

    /// <summary>
    /// Each argument with the chain it heads (<see cref="JsonLinesAuditSink.GetChainFiles"/>), in the
    /// order given, each file once: <c>decisions.jsonl</c> alone verifies a rotated chain from its start,
    /// and naming the rotated files as well changes nothing.
    /// </summary>
    internal static (IReadOnlyList<string> Files, string? Missing) ExpandChains(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            var chain = JsonLinesAuditSink.GetChainFiles(argument);
            if (chain.Count == 0)
            {
                return (files, argument);
            }

            foreach (var file in chain)
            {
                if (seen.Add(Path.GetFullPath(file)))
                {
                    files.Add(file);
                }
            }
        }

        return (files, null);
    }

    /// <summary>The lines as they are, each ending in a newline (a torn last line of one file does not run into the next).</summary>
    private static async Task PassThroughAsync(IEnumerable<string> files, Stream output, CancellationToken cancellationToken)
    {
        foreach (var file in files)
        {
            await using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            foreach (var line in LineReader.ReadLines(input))
            {
                await output.WriteAsync(line, cancellationToken);
                output.WriteByte((byte)'\n');
            }
        }

        await output.FlushAsync(cancellationToken);
    }
}
