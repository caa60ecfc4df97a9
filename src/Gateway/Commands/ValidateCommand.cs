using System.CommandLine;
using Gateway.Policy;
using Gateway.Upstreams;

namespace Gateway.Host.Commands;

/// <summary>
/// <c>gateway validate FILE...</c> (or <c>--config FILE</c>, as <c>serve</c> takes it): exit 0 when every policy is
/// valid, 1 otherwise, errors as file:line:column.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Policy files or folders to check.",
            Arity = ArgumentArity.ZeroOrMore,
        };

        // The option serve and explain take, so a command line that names its policy that way can be checked unchanged.
        var config = new Option<string[]>("--config")
        {
            Description = "A policy file or folder to check, as serve takes it; may be repeated, and combined with FILE arguments.",
            AllowMultipleArgumentsPerToken = false,
        };
        var skipSecrets = new Option<bool>("--skip-secret-files")
        {
            Description = "Do not check the upstream secret files the policy names (exist, readable, not readable by every user): for a pipeline where the secrets are not mounted.",
        };
        var command = new Command("validate", "Check policy files; print every error with file:line:column.") { files, config, skipSecrets };
        command.Validators.Add(result =>
        {
            // Tokens, not values: a value read here would throw for a '--config' the parser already refused.
            if ((result.GetResult(files)?.Tokens.Count ?? 0) == 0 && result.GetResult(config) is null)
            {
                result.AddError("Name the policy to check: gateway validate FILE|DIR... or gateway validate --config FILE|DIR.");
            }
        });
        command.SetAction(async (result, _) =>
        {
            var exit = 0;
            foreach (var file in (result.GetValue(config) ?? []).Concat(result.GetValue(files) ?? []))
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

                var secretErrors = result.GetValue(skipSecrets) ? [] : SecretFileCheck.Check(loaded.Policy);
                if (secretErrors.Count > 0)
                {
                    exit = 1;
                    foreach (var error in secretErrors)
                    {
                        await Console.Error.WriteLineAsync(error.ToString());
                    }

                    await Console.Error.WriteLineAsync($"{file}: invalid, {secretErrors.Count} secret file error(s) (--skip-secret-files leaves them out)");
                    continue;
                }

                await Console.Out.WriteLineAsync($"{file}: valid, {loaded.Policy.Routes.Count} routes, sha256 {loaded.Policy.Sha256}");
            }

            return exit;
        });
        return command;
    }
}
