using Gateway.Tokens;

namespace Gateway.Tests.Tokens;

public sealed class DemoKeysTests
{
    [Fact]
    public async Task DemoKeys_PrivateAndPublic_AreAPair()
    {
        var folder = Path.Combine(RepositoryRoot(), "config", "keys");
        using var key = SigningKey.Load(Path.Combine(folder, "demo-private.jwk"));
        var keys = IssuerKeySet.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, "demo.jwks.json")), out var skipped);

        Assert.Equal("demo-es256", key.KeyId);
        Assert.Equal(JwsAlgorithms.Es256, key.Algorithm);
        Assert.Empty(skipped);
        Assert.Equal(key.ToPublicJwks(), await File.ReadAllTextAsync(Path.Combine(folder, "demo.jwks.json")));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
