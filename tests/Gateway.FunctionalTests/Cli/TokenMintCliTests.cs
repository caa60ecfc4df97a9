using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Cli;

/// <summary><c>gateway token mint</c> and <c>keys generate</c> from the real executable, as the README and runbook use them.</summary>
public sealed class TokenMintCliTests : IDisposable
{
    private readonly string _keys = Path.Combine(Path.GetTempPath(), "gateway-tests", "mint-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_keys, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Mint_WritesAtJwtUnescaped_AndTheClientId()
    {
        await GenerateAsync();

        var result = await GatewayProcess.RunAsync(Mint(Path.Combine(_keys, "k1-private.jwk"), "--client-id", "agent-runtime-7"));

        Assert.True(result.ExitCode == 0, result.ToString());
        var parts = result.Output.Trim().Split('.');
        var header = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[0]));
        Assert.Contains("\"typ\":\"at+jwt\"", header, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", header, StringComparison.Ordinal);
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal("agent-runtime-7", payload.RootElement.GetProperty("client_id").GetString());
    }

    [Fact]
    public async Task Mint_WithThePublicKeySet_SaysItIsAPublicKeySet()
    {
        await GenerateAsync();

        var result = await GatewayProcess.RunAsync(Mint(Path.Combine(_keys, "k1.jwks.json")));

        Assert.True(result.ExitCode == 1, result.ToString());
        var error = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("it is a public key set (JWKS", error, StringComparison.Ordinal);
        Assert.Contains("k1-private.jwk", error, StringComparison.Ordinal);
        Assert.DoesNotContain("no \"kid\"", error, StringComparison.Ordinal);
    }

    private async Task GenerateAsync()
    {
        var result = await GatewayProcess.RunAsync(["keys", "generate", "--alg", "ES256", "--kid", "k1", "--out", _keys]);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static string[] Mint(string key, params string[] extra) =>
    [
        "token", "mint", "--key", key, "--iss", "https://idp.example", "--aud", "https://gateway.example",
        "--sub", "user:alice", "--agent", "agent:planner", "--action", "crm.customers:read", "--resource", "crm:customer/42",
        .. extra,
    ];
}
