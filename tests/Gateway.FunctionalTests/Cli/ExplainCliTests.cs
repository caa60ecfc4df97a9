using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Cli;

/// <summary>
/// <c>gateway explain</c> as a user runs it: the decision from the policy and the token, and a plain statement
/// of the checks it could not make offline, so that its "allow" is never read as the running gateway's.
/// </summary>
public sealed class ExplainCliTests : IDisposable
{
    private readonly TestIssuer _issuer = new();
    private readonly CliPolicy _policy;

    public ExplainCliTests() => _policy = new CliPolicy(_issuer);

    public void Dispose()
    {
        _policy.Dispose();
        _issuer.Dispose();
    }

    [Fact]
    public async Task Explain_AllowedCall_ErrorIsNull_AndSaysWhichChecksWereNotMade()
    {
        var result = await ExplainAsync("GET", "/crm/customers/42");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var output = JsonDocument.Parse(result.Output);
        var root = output.RootElement;
        Assert.Equal("allow", root.GetProperty("decision").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal(["revocations", "approvals", "step_budget", "risk_budget", "store"], root.GetProperty("not_checked").EnumerateArray().Select(e => e.GetString()));
        var note = root.GetProperty("note").GetString()!;
        Assert.Contains("Not checked: revocations", note, StringComparison.Ordinal);
        Assert.Contains("may still refuse", note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_RefusedCall_KeepsItsCode_AndTheSameNote()
    {
        var result = await ExplainAsync("DELETE", "/crm/customers/42");

        Assert.True(result.ExitCode == 2, result.ToString());
        using var output = JsonDocument.Parse(result.Output);
        Assert.Equal("insufficient_scope", output.RootElement.GetProperty("error").GetString());
        Assert.Equal(5, output.RootElement.GetProperty("not_checked").GetArrayLength());
    }

    [Fact]
    public async Task ExplainHelp_NamesTheChecksItSkips()
    {
        var result = await GatewayProcess.RunAsync(["explain", "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var help = string.Join(' ', result.Output.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("does NOT check revocations, approvals already granted, the step and risk budgets left, or the store", help, StringComparison.Ordinal);
    }

    private Task<CliResult> ExplainAsync(string method, string path) =>
        GatewayProcess.RunAsync(["explain", "--config", _policy.PolicyPath, "--token", _issuer.Mint(), "--method", method, "--path", path]);
}
