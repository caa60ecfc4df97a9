using System.CommandLine;
using System.Text;
using Gateway.Policy;
using Gateway.PolicyTesting;

namespace Gateway.Host.Commands;

/// <summary>
/// <c>gateway diff OLD NEW [--audit FILES --since 7d]</c>: what a policy edit changes, and which recorded
/// calls it would decide differently. Exit 0 no difference, 1 differences, 2 a policy or file cannot be read.
/// </summary>
internal static class DiffCommand
{
    public const int Same = 0;
    public const int Different = 1;
    public const int Unusable = 2;

    public static Command Create()
    {
        var before = new Argument<string>("old") { Description = "The policy in force (file or folder)." };
        var after = new Argument<string>("new") { Description = "The edited policy (file or folder)." };
        var audit = new Option<string[]>("--audit")
        {
            Description = "Audit files whose recorded calls are replayed against both policies. A live file brings its rotated files.",
            AllowMultipleArgumentsPerToken = true,
        };
        var since = new Option<string>("--since") { Description = "With --audit: calls newer than this (7d, 12h), or 'all'.", DefaultValueFactory = _ => "7d" };
        var format = new Option<string>("--format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command("diff", "What a policy change changes: routes, tiers, budgets; with --audit, the recorded calls it would decide differently.")
        {
            before, after, audit, since, format,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var policies = new List<GatewayPolicy>();
            foreach (var path in new[] { result.GetValue(before)!, result.GetValue(after)! })
            {
                var loaded = PolicyLoader.Load(path);
                if (loaded.Policy is null)
                {
                    foreach (var error in loaded.Errors)
                    {
                        await Console.Error.WriteLineAsync(error.ToString());
                    }

                    await Console.Error.WriteLineAsync($"{path}: the policy does not load");
                    return Unusable;
                }

                policies.Add(loaded.Policy);
            }

            var diff = PolicyDiff.Compare(policies[0], policies[1]);
            ReplayResult? replay = null;
            if (result.GetValue(audit) is { Length: > 0 } auditFiles)
            {
                var sinceText = result.GetValue(since)!;
                TimeSpan? window = null;
                if (sinceText != "all")
                {
                    if (!PolicyDuration.TryParse(sinceText, out var parsed))
                    {
                        await Console.Error.WriteLineAsync($"--since '{sinceText}' is not a duration ({PolicyDuration.SyntaxHint}) or 'all'");
                        return Unusable;
                    }

                    window = parsed;
                }

                var expanded = AuditCommand.ExpandChains(auditFiles);
                if (expanded.Missing is { } missing)
                {
                    await Console.Error.WriteLineAsync($"{missing}: no such audit file (and no rotated files beside it)");
                    return Unusable;
                }

                var now = TimeProvider.System.GetUtcNow();
                try
                {
                    replay = AuditReplay.Run(policies[0], policies[1], expanded.Files, now - window, now);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    await Console.Error.WriteLineAsync(ex.Message);
                    return Unusable;
                }
            }

            await using var stdout = Console.OpenStandardOutput();
            if (result.GetValue(format) == "json")
            {
                PolicyDiffWriter.WriteJson(stdout, diff, replay);
                stdout.WriteByte((byte)'\n');
            }
            else
            {
                await stdout.WriteAsync(Encoding.UTF8.GetBytes(PolicyDiffWriter.ToText(diff, replay)), cancellationToken);
            }

            return diff.IsEmpty && (replay is null || replay.Changes.Count == 0) ? Same : Different;
        });
        return command;
    }
}
