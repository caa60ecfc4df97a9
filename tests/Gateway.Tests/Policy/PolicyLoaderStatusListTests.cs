using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>An issuer's <c>status_lists</c> prefixes and the optional <c>status_list_cache</c> section.</summary>
public sealed class PolicyLoaderStatusListTests : IDisposable
{
    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The header with one issuer line more (line 6, column 19 for the first list item), then <paramref name="rest"/> from line 11.</summary>
    private PolicyLoadResult Load(string statusLists, string rest = "") =>
        _folder.LoadText(PolicyTestFolder.Header.Replace("    jwks_file: keys/idp.jwks.json\n", "    jwks_file: keys/idp.jwks.json\n    status_lists: " + statusLists + "\n", StringComparison.Ordinal) + rest);

    [Fact]
    public void LoadFromText_StatusListsAndCache_Mapped()
    {
        var policy = PolicyAssert.Loaded(Load("[ https://idp.example/status/, http://127.0.0.1:8081/lists/ ]", """
            status_list_cache:
              max_ttl: 30s
              max_bytes: 4096
              fetch_timeout: 2s
            """));

        Assert.Equal([new Uri("https://idp.example/status/"), new Uri("http://127.0.0.1:8081/lists/")], policy.Issuers[0].StatusLists);
        Assert.Equal(new StatusListCacheSettings { MaxTtl = TimeSpan.FromSeconds(30), MaxBytes = 4096, FetchTimeout = TimeSpan.FromSeconds(2) }, policy.StatusListCache);
    }

    [Fact]
    public void LoadFromText_Nothing_NoPrefixesAndDefaults()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText(PolicyTestFolder.Header));

        Assert.Empty(policy.Issuers[0].StatusLists);
        Assert.Equal(TimeSpan.FromMinutes(5), policy.StatusListCache.MaxTtl);
        Assert.Equal(1024 * 1024, policy.StatusListCache.MaxBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), policy.StatusListCache.FetchTimeout);
    }

    [Theory]
    [InlineData("[ http://idp.example/status/ ]", "must use https")]
    [InlineData("[ ftp://idp.example/status/ ]", "must be an absolute https URL")]
    [InlineData("[ status/ ]", "must be an absolute https URL")]
    [InlineData("[ https://idp.example/status ]", "must end with '/'")]
    [InlineData("[ \"https://idp.example/status/?tenant=a\" ]", "no query")]
    [InlineData("[ \"https://user@idp.example/status/\" ]", "user info")]
    public void LoadFromText_BadPrefix_ErrorAtTheItem(string statusLists, string fragment)
    {
        PolicyAssert.SingleError(Load(statusLists), 6, 21, fragment);
    }

    [Fact]
    public void LoadFromText_StatusListsNotAList_Error()
    {
        PolicyAssert.SingleError(Load("https://idp.example/status/"), 6, 19, "'status_lists' in issuer 'https://idp.example' must be a list");
    }

    [Theory]
    [InlineData("max_ttl: 500ms", 12, 12, "'max_ttl' in section 'status_list_cache' must be at least 1s")]
    [InlineData("max_bytes: 8", 12, 14, "must be at least 16")]
    [InlineData("max_bytes: 100000000", 12, 14, "must be at most 67108864")]
    [InlineData("fetch_timeout: 2m", 12, 18, "'fetch_timeout' in section 'status_list_cache' must be at most 1m")]
    [InlineData("max_tll: 5m", 12, 3, "max_tll")]
    public void LoadFromText_BadCacheSetting_ErrorAtItsLine(string setting, int line, int column, string fragment)
    {
        PolicyAssert.SingleError(Load("[ https://idp.example/status/ ]", "status_list_cache:\n  " + setting + "\n"), line, column, fragment);
    }
}
