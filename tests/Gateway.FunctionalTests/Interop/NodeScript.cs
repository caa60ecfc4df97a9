using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Gateway.FunctionalTests.Interop;

/// <summary>
/// Runs one of the scripts in tests/interop with node: standard JavaScript client libraries (pinned in
/// tests/interop/package.json, installed by tests/test.sh) producing the tokens and proofs a real agent would.
/// </summary>
internal static class NodeScript
{
    private static readonly Lazy<string> Folder = new(FindFolder);

    public static async Task<string> RunAsync(string script, JsonObject input)
    {
        var start = new ProcessStartInfo("node", Path.Combine(Folder.Value, script))
        {
            WorkingDirectory = Folder.Value,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        await process.StandardInput.WriteAsync(input.ToJsonString());
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} exited {process.ExitCode}: {await error}");
        }

        return (await output).Trim();
    }

    private static string FindFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var interop = Path.Combine(folder.FullName, "tests", "interop");
            if (File.Exists(Path.Combine(folder.FullName, "Gateway.sln")) && Directory.Exists(interop))
            {
                if (!Directory.Exists(Path.Combine(interop, "node_modules")))
                {
                    throw new InvalidOperationException($"{interop} has no node_modules: run `npm ci --prefix tests/interop` (tests/test.sh does).");
                }

                return interop;
            }
        }

        throw new InvalidOperationException($"No tests/interop above {AppContext.BaseDirectory}: run the tests from a checkout.");
    }
}
