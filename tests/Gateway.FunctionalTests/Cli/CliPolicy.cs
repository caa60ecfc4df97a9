using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Cli;

/// <summary>A policy folder for CLI runs: the functional tests' policy and its issuer's JWKS in a temp folder.</summary>
internal sealed class CliPolicy : IDisposable
{
    public CliPolicy(TestIssuer issuer, string? policy = null, string upstream = "http://127.0.0.1:9")
    {
        Directory = Path.Combine(Path.GetTempPath(), "gateway-tests", "cli-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(Path.Combine(Directory, "idp.jwks.json"), issuer.JwksJson);
        PolicyPath = Path.Combine(Directory, "gateway.yaml");
        File.WriteAllText(PolicyPath, (policy ?? TestPolicies.Default)
            .Replace("{{UPSTREAM}}", upstream, StringComparison.Ordinal)
            .Replace("{{ISSUER}}", issuer.Issuer, StringComparison.Ordinal)
            .Replace("{{AUDIENCE}}", TestIssuer.Audience, StringComparison.Ordinal));
    }

    public string Directory { get; }

    public string PolicyPath { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
