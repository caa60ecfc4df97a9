using System.CommandLine;
using System.Text;
using Gateway.Policy;
using Gateway.Reporting;

namespace Gateway.Host.Commands;

/// <summary>
/// <c>gateway audit report FILES [--since 30d] [--format text|json|html] [--output FILE]</c>: what agents and
/// users did, shadow-mode refusals per route and unused grants, from the audit trail. Exit 0, or 2 when a file
/// cannot be read.
/// </summary>
internal static class AuditReportCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Audit files. A live file (decisions.jsonl) brings its rotated files with it; several replicas' files may be given.",
            Arity = ArgumentArity.OneOrMore,
        };
        var since = new Option<string>("--since")
        {
            Description = "Window: events newer than this (30d, 7d, 12h), or 'all'.",
            DefaultValueFactory = _ => "30d",
        };
        var format = new Option<string>("--format") { Description = "text, json, or html (a self-contained page with charts).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "html");
        var output = new Option<string?>("--output") { Description = "Write to this file instead of standard output." };
        var command = new Command("report", "Per agent and per user: calls, refusals, approvals, step-ups, risk; shadow-mode refusals; unused grants.")
        {
            files, since, format, output,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var sinceText = result.GetValue(since)!;
            TimeSpan? window = null;
            if (sinceText != "all")
            {
                if (!PolicyDuration.TryParse(sinceText, out var parsed))
                {
                    await Console.Error.WriteLineAsync($"--since '{sinceText}' is not a duration ({PolicyDuration.SyntaxHint}) or 'all'");
                    return AuditCommand.Unreadable;
                }

                window = parsed;
            }

            var expanded = AuditCommand.ExpandChains(result.GetValue(files)!);
            if (expanded.Missing is { } missing)
            {
                await Console.Error.WriteLineAsync($"{missing}: no such audit file (and no rotated files beside it)");
                return AuditCommand.Unreadable;
            }

            var now = TimeProvider.System.GetUtcNow();
            AuditReport report;
            try
            {
                report = AuditReportBuilder.Build(expanded.Files, now - window, now);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return AuditCommand.Unreadable;
            }

            await using var stream = result.GetValue(output) is { } path ? File.Create(path) : Console.OpenStandardOutput();
            switch (result.GetValue(format))
            {
                case "json":
                    AuditReportWriter.WriteJson(stream, report);
                    stream.WriteByte((byte)'\n');
                    break;
                case "html":
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(AuditReportPage.Render(report)), cancellationToken);
                    break;
                default:
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(AuditReportWriter.ToText(report)), cancellationToken);
                    break;
            }

            return AuditCommand.Intact;
        });
        return command;
    }
}
