using System.CommandLine;
using System.Globalization;
using Gateway.Policy;
using Gateway.PolicyTesting;
using Gateway.Tokens;

namespace Gateway.Host.Commands;

/// <summary>
/// <c>gateway test POLICY CASES...</c>: table-driven policy tests through the real decision, offline.
/// Exit 0 every case passed, 1 a case failed, 2 the policy or a cases file could not be read.
/// </summary>
internal static class TestCommand
{
    public const int Passed = 0;
    public const int Failed = 1;
    public const int Unusable = 2;

    public static Command Create()
    {
        var policy = new Argument<string>("policy") { Description = "Policy file or folder under test." };
        var cases = new Argument<string[]>("cases") { Description = "Cases files (YAML; docs/policy-testing.md).", Arity = ArgumentArity.OneOrMore };
        var junit = new Option<string?>("--junit") { Description = "Also write the results as JUnit XML to this file, for CI." };
        var quiet = new Option<bool>("--quiet") { Description = "Print failures and the summary only." };
        var command = new Command("test", "Run policy test cases against a policy with the gateway's own decision; exit 0 all pass, 1 a case failed, 2 unusable input.")
        {
            policy, cases, junit, quiet,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var policyPath = result.GetValue(policy)!;
            var loaded = PolicyLoader.Load(policyPath);
            if (loaded.Policy is null)
            {
                foreach (var error in loaded.Errors)
                {
                    await Console.Error.WriteLineAsync(error.ToString());
                }

                await Console.Error.WriteLineAsync($"{policyPath}: the policy does not load, so no case was run");
                return Unusable;
            }

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            using var http = new HttpClient();
            ISigningKeyResolver? realKeys;
            try
            {
                realKeys = IssuerKeyResolver.Create(loaded.Policy.Issuers, http, TimeProvider.System, loggers);
            }
            catch (Exception ex) when (ex is FormatException or IOException or ArgumentException)
            {
                // Cases written as claims need none of the issuers' keys; token_file cases will say they cannot be checked.
                await Console.Error.WriteLineAsync($"warning: the issuers' keys could not be loaded ({ex.Message}); token_file cases will fail");
                realKeys = null;
            }

            using var runner = new PolicyTestRunner(loaded.Policy, TimeProvider.System, realKeys, loggers);
            var now = TimeProvider.System.GetUtcNow();
            var suites = new List<(PolicyCaseFile File, IReadOnlyList<PolicyCaseResult> Results)>();
            var unusable = false;
            foreach (var path in result.GetValue(cases)!)
            {
                var file = PolicyCaseLoader.Load(path, now);
                foreach (var error in file.Errors)
                {
                    await Console.Error.WriteLineAsync(error.ToString());
                }

                unusable |= file.Errors.Count > 0;
                var results = new List<PolicyCaseResult>();
                foreach (var testCase in file.Cases)
                {
                    var outcome = await runner.RunAsync(testCase, cancellationToken);
                    results.Add(outcome);
                    if (!outcome.Passed || !result.GetValue(quiet))
                    {
                        await (outcome.Passed ? Console.Out : Console.Error).WriteLineAsync(outcome.Describe());
                    }
                }

                suites.Add((file, results));
            }

            if (result.GetValue(junit) is { } junitPath)
            {
                await using var output = File.Create(junitPath);
                JUnitReport.Write(output, policyPath, suites);
            }

            var total = suites.Sum(s => s.Results.Count);
            var failed = suites.Sum(s => s.Results.Count(r => !r.Passed));
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{total - failed} passed, {failed} failed, in {suites.Count} file(s) against {policyPath}"));
            return unusable ? Unusable : failed > 0 ? Failed : Passed;
        });
        return command;
    }
}
