using System.Security.Cryptography;
using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>Files, folders, YAML syntax and the demo policy.</summary>
public sealed class PolicyLoaderTests : IDisposable
{
    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_DemoConfig_LoadsWithoutErrors()
    {
        var path = Path.Combine(RepositoryRoot(), "config", "gateway.yaml");

        var policy = PolicyAssert.Loaded(PolicyLoader.Load(path));

        Assert.Equal("https://gateway.example", policy.Gateway.Audience);
        var issuer = Assert.Single(policy.Issuers);
        Assert.Equal("https://idp.example", issuer.Issuer);
        Assert.Equal(Path.Combine(RepositoryRoot(), "config", "keys", "demo.jwks.json"), issuer.JwksFile);
        Assert.Equal(["ES256", "EdDSA", "RS256", "PS256"], issuer.Algorithms);
        Assert.Equal(["low", "medium", "high", "critical"], policy.Tiers.Values.OrderBy(t => t.Rank).Select(t => t.Name));
        Assert.Equal(["crm", "payments", "support"], policy.Upstreams.Keys.Order(StringComparer.Ordinal));
        // Every tier is used by a REST route or by a tool, resource or prompt of the MCP route (which has no tier of its own).
        var tiers = policy.Routes.Where(r => r.Mcp is null).Select(r => r.Tier)
            .Concat(policy.Routes.Where(r => r.Mcp is not null).SelectMany(r => r.Mcp!.Tools.Values.Concat(r.Mcp.Prompts.Values).Concat(r.Mcp.Resources)).Select(t => t.Tier));
        Assert.Equal(policy.Tiers.Keys.Order(StringComparer.Ordinal), tiers.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal("support-mcp", Assert.Single(policy.Routes, r => r.Mcp is not null).Id);
        Assert.Equal(Path.Combine(RepositoryRoot(), "config", "audit", "decisions.jsonl"), policy.Audit.File);
        Assert.Equal([Path.GetFullPath(path)], policy.SourceFiles);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), policy.Sha256);
    }

    [Fact]
    public void Load_SingleFile_HashesFileBytesAndRecordsAbsolutePath()
    {
        var file = _folder.Write("gateway.yaml", PolicyTestFolder.Minimal);

        var policy = PolicyAssert.Loaded(PolicyLoader.Load(file));

        Assert.Equal([file], policy.SourceFiles);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), policy.Sha256);
        Assert.Matches("^[0-9a-f]{64}$", policy.Sha256);
    }

    [Fact]
    public void Load_MissingPath_ReportsPathLookedFor()
    {
        var missing = Path.Combine(_folder.Path, "nope.yaml");

        var result = PolicyLoader.Load(missing);

        var error = PolicyAssert.SingleError(result, 1, 1, "no policy file or folder here");
        Assert.Equal(missing, error.Location.File);
    }

    [Fact]
    public void Load_Folder_MergesRoutesUpstreamsTiersAndIssuers()
    {
        var policyFolder = Directory.CreateDirectory(Path.Combine(_folder.Path, "policy")).FullName;
        File.Copy(Path.Combine(_folder.Path, "keys", "idp.jwks.json"), Path.Combine(policyFolder, "idp.jwks.json"));
        File.WriteAllText(Path.Combine(policyFolder, "00-gateway.yaml"), """
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: idp.jwks.json
            tiers:
              low: { risk: 1 }
            """);
        File.WriteAllText(Path.Combine(policyFolder, "10-crm.yml"), """
            tiers:
              high: { risk: 20 }
            upstreams:
              crm: { destinations: [http://127.0.0.1:5101] }
            routes:
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);
        File.WriteAllText(Path.Combine(policyFolder, "20-payments.yaml"), """
            issuers:
              - issuer: https://payments-idp.example
                jwks_uri: https://payments-idp.example/jwks
            upstreams:
              payments: { destinations: [http://127.0.0.1:5102] }
            routes:
              - id: payments-refund
                match: { methods: [POST], path: "/payments/{paymentId}/refunds" }
                upstream: payments
                action: payments.refunds:create
                resource: payments:payment/{paymentId}
                tier: high
            """);
        File.WriteAllText(Path.Combine(policyFolder, "notes.txt"), "not: [yaml");
        File.WriteAllText(Path.Combine(policyFolder, ".#00-gateway.yaml"), "editor: lock file");

        var policy = PolicyAssert.Loaded(PolicyLoader.Load(policyFolder));

        Assert.Equal(["crm-get-customer", "payments-refund"], policy.Routes.Select(r => r.Id));
        Assert.Equal(["https://idp.example", "https://payments-idp.example"], policy.Issuers.Select(i => i.Issuer));
        Assert.Equal(0, policy.Tiers["low"].Rank);
        Assert.Equal(1, policy.Tiers["high"].Rank);
        Assert.Equal(2, policy.Upstreams.Count);
        Assert.Equal(Path.Combine(policyFolder, "idp.jwks.json"), policy.Issuers[0].JwksFile);
        string[] files = [.. new[] { "00-gateway.yaml", "10-crm.yml", "20-payments.yaml" }.Select(f => Path.Combine(policyFolder, f))];
        Assert.Equal(files, policy.SourceFiles);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(files.SelectMany(File.ReadAllBytes).ToArray())), policy.Sha256);
        Assert.Equal(new SourceLocation(Path.Combine(policyFolder, "20-payments.yaml"), 7, 5), policy.Routes[1].Location);
    }

    [Fact]
    public void Load_FolderWithDuplicatesAcrossFiles_NamesBothPlaces()
    {
        var policyFolder = Directory.CreateDirectory(Path.Combine(_folder.Path, "policy")).FullName;
        Directory.CreateDirectory(Path.Combine(policyFolder, "keys"));
        File.Copy(Path.Combine(_folder.Path, "keys", "idp.jwks.json"), Path.Combine(policyFolder, "keys", "idp.jwks.json"));
        File.WriteAllText(Path.Combine(policyFolder, "a.yaml"), PolicyTestFolder.Minimal);
        File.WriteAllText(Path.Combine(policyFolder, "b.yaml"), """
            gateway:
              audience: https://other.example
            tiers:
              low: { risk: 2 }
            upstreams:
              crm: { destinations: [http://127.0.0.1:5109] }
            routes:
              - id: crm-get-customer
                match: { methods: [PATCH], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:update
                resource: crm:customer/{customerId}
                tier: low
            """);
        var a = Path.Combine(policyFolder, "a.yaml");
        var b = Path.Combine(policyFolder, "b.yaml");

        var result = PolicyLoader.Load(policyFolder);

        Assert.Null(result.Policy);
        Assert.Equal(
            [
                $"{b}:1:1: section 'gateway' is already defined at {a}:1:1; only issuers, tiers, upstreams, routes may be split across files",
                $"{b}:4:3: tier 'low' is already defined at {a}:7:3; each tier is defined once",
                $"{b}:6:3: upstream 'crm' is already defined at {a}:9:3; each upstream is defined once",
                $"{b}:8:9: duplicate route id 'crm-get-customer': already used at {a}:11:9",
            ],
            result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Load_EmptyFolder_ReportsNoPolicyFiles()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_folder.Path, "empty")).FullName;

        PolicyAssert.SingleError(PolicyLoader.Load(empty), 1, 1, "the folder holds no policy files (*.yaml or *.yml)");
    }

    [Fact]
    public void LoadFromText_ManyMistakes_ReportsAllAtOnceInOrder()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
              max_token_lifetime: 10 minutes
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
                algorithms: [none]
            tiers:
              low: { risk: 1 }
            upstreams:
              crm: { destinations: [http://127.0.0.1:5101] }
            routes:
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                actoin: crm.customers:read
                resource: crm:customer/{id}
                tier: medium
            """);

        string[] expected =
        [
            "gateway.yaml:3:23: 'max_token_lifetime' in section 'gateway' is not a duration",
            "gateway.yaml:7:18: algorithm 'none' in issuer 'https://idp.example' is never accepted",
            "gateway.yaml:16:5: unknown key 'actoin' in route 'crm-get-customer' (did you mean 'action'?)",
            "gateway.yaml:17:15: resource 'crm:customer/{id}' in route 'crm-get-customer': placeholder '{id}' is not defined",
            "gateway.yaml:18:11: unknown tier 'medium' in route 'crm-get-customer' (defined tiers: low)",
        ];
        Assert.Null(result.Policy);
        Assert.Equal(expected.Length, result.Errors.Count);
        Assert.All(expected.Zip(result.Errors), pair => Assert.StartsWith(pair.First, pair.Second.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void LoadFromText_UnknownSection_SuggestsSection()
    {
        var result = _folder.LoadText(PolicyTestFolder.Header + "rotues: []\n");

        PolicyAssert.SingleError(result, 10, 1, "unknown section 'rotues' (did you mean 'routes'?)");
    }

    [Fact]
    public void LoadFromText_YamlSyntaxError_ReportsPosition()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
              mode: enforce: now
            """);

        PolicyAssert.SingleError(result, 3, 16, "YAML syntax error:");
    }

    [Fact]
    public void LoadFromText_DuplicateYamlKey_ReportsKey()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
              audience: https://other.example
            """);

        PolicyAssert.SingleError(result, 3, 3, "duplicate key 'audience': a key may appear only once in a mapping");
    }

    [Fact]
    public void LoadFromText_TabIndentation_ReportsTabLine()
    {
        var result = _folder.LoadText("gateway:\n  audience: https://gateway.example\n\tmode: enforce\n");

        PolicyAssert.SingleError(result, 3, 1, "this line is indented with a tab");
    }

    [Fact]
    public void LoadFromText_UnclosedFlowList_ReportsLastGoodPosition()
    {
        var result = _folder.LoadText("gateway:\n  audience: https://gateway.example\nissuers: [a, b\n");

        var error = Assert.Single(result.Errors);
        Assert.Contains("YAML syntax error", error.Message, StringComparison.Ordinal);
        Assert.Contains("must be quoted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFromText_UnquotedBracesInFlowMapping_ReadsThePathAsTheContractWritesIt()
    {
        // The contract's own example writes templates unquoted inside '{ }'; strict YAML would not.
        var result = _folder.LoadText(PolicyTestFolder.Header + """
            routes:
              - id: crm-get-customer
                match: { methods: [GET], path: /crm/customers/{customerId} }
            """);

        Assert.DoesNotContain(result.Errors, e => e.Message.Contains("syntax", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("upstream", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadFromText_TwoDocuments_ReportsSecondDocument()
    {
        var result = _folder.LoadText(PolicyTestFolder.Header + "---\nroutes: []\n");

        PolicyAssert.SingleError(result, 11, 1, "a policy file holds one YAML document");
    }

    [Fact]
    public void LoadFromText_TopLevelList_ReportsMappingExpected()
    {
        var result = _folder.LoadText("- gateway\n- routes\n");

        PolicyAssert.SingleError(result, 1, 1, "the top level of a policy file must be a mapping of sections");
    }

    [Fact]
    public void LoadFromText_SyntaxErrorInOneFile_DoesNotReportMissingSections()
    {
        var result = _folder.LoadText("gateway: [\n");

        Assert.Single(result.Errors);
    }

    [Fact]
    public void GetPolicyOrThrow_InvalidPolicy_ThrowsWithEveryError()
    {
        var result = _folder.LoadText("gateway: {}\n");

        var exception = Assert.Throws<PolicyLoadException>(result.GetPolicyOrThrow);

        Assert.Equal(result.Errors, exception.Errors);
        Assert.Contains("gateway.yaml:1:10: missing required key 'audience' in section 'gateway'", exception.Message, StringComparison.Ordinal);
    }

    /// <summary>The folder holding Gateway.sln, found by walking up from the test binaries.</summary>
    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Gateway.sln above {AppContext.BaseDirectory}");
    }
}
