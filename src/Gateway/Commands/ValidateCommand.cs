using System.CommandLine;
using Gateway.Policy;

namespace Gateway.Host.Commands;

/// <summary><c>gateway validate FILE...</c>: exit 0 when every policy is valid, 1 otherwise, errors as file:line:column.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Policy files or folders to check.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("validate", "Check policy files; print every error with file:line:column.") { files };
        command.SetAction(async (result, _) =>
        {
            var exit = 0;
            foreach (var file in result.GetValue(files)!)
            {
                var loaded = PolicyLoader.Load(file);
                if (loaded.Policy is null)
                {
                    exit = 1;
                    foreach (var error in loaded.Errors)
                    {
                        await Console.Error.WriteLineAsync(error.ToString());
                    }

                    await Console.Error.WriteLineAsync($"{file}: invalid, {loaded.Errors.Count} error(s)");
                    continue;
                }

                await Console.Out.WriteLineAsync($"{file}: valid, {loaded.Policy.Routes.Count} routes, sha256 {loaded.Policy.Sha256}");
            }

            return exit;
        });
        return command;
    }
}
