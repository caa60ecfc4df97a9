using System.Diagnostics;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// Runs the real command line, <c>dotnet gateway.dll ...</c> (the gateway's build output is copied beside the
/// tests), in its own process: exit code, standard output and standard error as an operator sees them.
/// </summary>
internal static class GatewayProcess
{
    public static async Task<CliResult> RunAsync(string[] arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        using var process = Start(arguments, environment, workingDirectory);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        using var cancel = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"gateway {string.Join(' ', arguments)} did not finish within {limit}");
        }

        return new CliResult(process.ExitCode, await output, await error);
    }

    /// <summary>Starts a long-running verb (<c>serve</c>, <c>demo</c>); the caller reads its output and kills it.</summary>
    public static Process Start(string[] arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gateway.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // The test process's own admin key, if any, must not leak into a child that tests its absence.
        start.Environment.Remove("GATEWAY_ADMIN_KEY");
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
    }
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}
