using System.Diagnostics;

namespace Gateway.FunctionalTests.Cli;

/// <summary>
/// The CLI as a .NET tool, the way the README installs it: <c>dotnet pack</c> of src/Gateway, then
/// <c>dotnet tool install</c> from that folder, and the installed <c>gateway</c> command works on its own.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "gateway-tests", "tool-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task PackThenToolInstall_GivesAWorkingGatewayCommand()
    {
        var root = RepositoryRoot();
        var packages = Path.Combine(_work, "packages");
        var tools = Path.Combine(_work, "tools");

        // --no-build: the suite built Release already; packing must not rebuild under other tests' feet.
        await RunAsync("dotnet", root, "pack", "src/Gateway", "-c", "Release", "--no-build", "-o", packages, "-nologo");
        Assert.Single(Directory.GetFiles(packages, "Gateway.Cli.*.nupkg"));
        // --tool-path instead of the README's --global, so that the test leaves the machine as it was.
        await RunAsync("dotnet", _work, "tool", "install", "--tool-path", tools, "--add-source", packages, "Gateway.Cli");

        var keys = Path.Combine(_work, "keys");
        await RunAsync(Path.Combine(tools, "gateway"), _work, "keys", "generate", "--alg", "Ed25519", "--kid", "tool", "--out", keys);
        var token = await RunAsync(Path.Combine(tools, "gateway"), _work, "token", "mint", "--key", Path.Combine(keys, "tool-private.jwk"),
            "--iss", "https://idp.example", "--aud", "https://gateway.example", "--sub", "user:alice", "--agent", "agent:planner",
            "--action", "crm.customers:read", "--resource", "crm:customer/42");

        Assert.Equal(3, token.Trim().Split('.').Length);
    }

    [Fact]
    public void Readme_ShowsTheToolInstall()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

        Assert.Contains("dotnet pack src/Gateway -c Release -o artifacts/tool", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet tool install --global --add-source artifacts/tool Gateway.Cli", readme, StringComparison.Ordinal);
    }

    private static async Task<string> RunAsync(string file, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        Directory.CreateDirectory(directory);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)}: exit {process.ExitCode}\n{await output}\n{await error}");
        return await output;
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Gateway.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("Run the tests from a checkout.");
    }
}
