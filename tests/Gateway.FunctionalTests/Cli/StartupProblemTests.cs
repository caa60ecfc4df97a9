using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Cli;

/// <summary>
/// Start-up problems as a person meets them, from the real executable: one sentence that names what is wrong
/// and what to do, never a stack trace; and a demo that has an admin key for the tour's admin steps.
/// </summary>
public sealed partial class StartupProblemTests : IDisposable
{
    private readonly TestIssuer _issuer = new();
    private readonly CliPolicy _policy;

    public StartupProblemTests() => _policy = new CliPolicy(_issuer);

    public void Dispose()
    {
        _policy.Dispose();
        _issuer.Dispose();
    }

    [Theory]
    [InlineData(false, "--urls")]
    [InlineData(true, "--admin-urls")]
    public async Task Serve_PortInUse_ExitsWithOneSentenceNamingThePortAndTheOption(bool admin, string option)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = $"http://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        var result = await GatewayProcess.RunAsync(
            ["serve", "--config", _policy.PolicyPath, "--urls", admin ? "http://127.0.0.1:0" : taken, "--admin-urls", admin ? taken : "http://127.0.0.1:0"],
            timeout: TimeSpan.FromSeconds(90));

        Assert.True(result.ExitCode == 1, result.ToString());
        var error = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"Cannot listen on {taken}: port {((IPEndPoint)holder.LocalEndpoint).Port} is already in use", error, StringComparison.Ordinal);
        Assert.Contains($"choose another port with {option}", error, StringComparison.Ordinal);
        Assert.DoesNotMatch(StackFrame(), result.Output + result.Error);
    }

    [Fact]
    public async Task Demo_UpstreamPortInUse_ExitsWithOneSentence()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = $"http://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";
        using var policy = new CliPolicy(_issuer, upstream: taken);

        var result = await GatewayProcess.RunAsync(["demo", "--config", policy.PolicyPath, "--urls", "http://127.0.0.1:0", "--admin-urls", "http://127.0.0.1:0"], timeout: TimeSpan.FromSeconds(90));

        Assert.True(result.ExitCode == 1, result.ToString());
        var error = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"Cannot start the demo upstream 'crm' on {taken}: port", error, StringComparison.Ordinal);
        Assert.DoesNotMatch(StackFrame(), result.Output + result.Error);
    }

    [Fact]
    public async Task Demo_WithoutAdminKey_PrintsAGeneratedKey_ThatTheAdminApiAccepts()
    {
        var upstream = $"http://127.0.0.1:{FreePort()}";
        var adminPort = FreePort();
        using var policy = new CliPolicy(_issuer, upstream: upstream);
        using var process = GatewayProcess.Start(["demo", "--config", policy.PolicyPath, "--urls", "http://127.0.0.1:0", "--admin-urls", $"http://127.0.0.1:{adminPort}"]);
        try
        {
            var key = await ReadUntilAsync(process, GeneratedKey());
            await ReadUntilAsync(process, AdminListening(adminPort));

            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
            var without = await client.GetAsync(new Uri("/revocations", UriKind.Relative));
            using var request = new HttpRequestMessage(HttpMethod.Get, "/revocations");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Groups["key"].Value);
            var with = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
            Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static async Task<Match> ReadUntilAsync(Process process, Regex pattern)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var seen = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            seen.Add(line);
            if (pattern.Match(line) is { Success: true } match)
            {
                return match;
            }
        }

        throw new InvalidOperationException($"The demo ended before printing {pattern}:\n{string.Join('\n', seen)}\n{await process.StandardError.ReadToEndAsync()}");
    }

    private static Regex AdminListening(int port) => new($"Now listening on: http://127\\.0\\.0\\.1:{port}", RegexOptions.CultureInvariant);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"GATEWAY_ADMIN_KEY is not set, so this demo made an admin key for this run: (?<key>demo-[0-9a-f]{32})$")]
    private static partial Regex GeneratedKey();

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
