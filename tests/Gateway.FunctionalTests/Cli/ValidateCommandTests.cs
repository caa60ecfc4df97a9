using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Cli;

/// <summary><c>gateway validate</c> run as an operator runs it: its own process, exit code and both streams.</summary>
public sealed class ValidateCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "gateway-validate-tests", Guid.NewGuid().ToString("N"));
    private readonly TestIssuer _issuer = new();

    public ValidateCommandTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public async Task Validate_ConfigOption_ChecksThatFileAloneAsServeWouldLoadIt()
    {
        var policy = await WritePolicyAsync();

        var result = await AuditCli.RunAsync("validate", "--config", policy);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        var line = Assert.Single(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{policy}: valid, ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_ConfigOptionAndArguments_ChecksEachAndFailsOnTheInvalidOne()
    {
        var policy = await WritePolicyAsync();
        var broken = Path.Combine(_folder, "broken.yaml");
        await File.WriteAllTextAsync(broken, "gateway:\n  audience: https://gateway.test\nroutes: 42\n");

        var result = await AuditCli.RunAsync("validate", "--config", policy, broken);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"{policy}: valid, ", result.Output, StringComparison.Ordinal);
        Assert.Contains($"{broken}: invalid, ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("--config: invalid", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_NothingToCheck_SaysHowToNameThePolicy()
    {
        var result = await AuditCli.RunAsync("validate");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("gateway validate FILE|DIR... or gateway validate --config FILE|DIR", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(": valid", result.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _issuer.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<string> WritePolicyAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "idp.jwks.json"), _issuer.JwksJson);
        var path = Path.Combine(_folder, "gateway.yaml");
        await File.WriteAllTextAsync(path, TestPolicies.Default
            .Replace("{{UPSTREAM}}", "http://127.0.0.1:1", StringComparison.Ordinal)
            .Replace("{{ISSUER}}", _issuer.Issuer, StringComparison.Ordinal)
            .Replace("{{AUDIENCE}}", TestIssuer.Audience, StringComparison.Ordinal));
        return path;
    }
}
