using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Upstreams;

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

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Validate_SecretFiles_MustExistAndNotBeReadableByEveryUser()
    {
        var secret = Path.Combine(_folder, "crm.key");
        var policy = await WritePolicyAsync(CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_file: \"{secret}\" }} }}"));

        var missing = await AuditCli.RunAsync("validate", policy);
        await File.WriteAllTextAsync(secret, "key-1");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var everyone = await AuditCli.RunAsync("validate", policy);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var owner = await AuditCli.RunAsync("validate", policy);
        File.Delete(secret);
        var skipped = await AuditCli.RunAsync("validate", "--skip-secret-files", policy);

        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains($"upstreams.crm.auth.header.value_file: '{secret}' does not exist", missing.Error, StringComparison.Ordinal);
        Assert.Contains($"{policy}:", missing.Error, StringComparison.Ordinal);
        Assert.True(everyone.ExitCode == 1, everyone.ToString());
        Assert.Contains("is readable by every user (mode 0644)", everyone.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("key-1", everyone.Error + everyone.Output, StringComparison.Ordinal);
        Assert.True(owner.ExitCode == 0, owner.ToString());
        Assert.True(skipped.ExitCode == 0, skipped.ToString());
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

    private async Task<string> WritePolicyAsync(string? text = null)
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "idp.jwks.json"), _issuer.JwksJson);
        var path = Path.Combine(_folder, "gateway.yaml");
        await File.WriteAllTextAsync(path, (text ?? TestPolicies.Default)
            .Replace("{{UPSTREAM}}", "http://127.0.0.1:1", StringComparison.Ordinal)
            .Replace("{{ISSUER}}", _issuer.Issuer, StringComparison.Ordinal)
            .Replace("{{AUDIENCE}}", TestIssuer.Audience, StringComparison.Ordinal));
        return path;
    }
}
