using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>A temporary folder with a JWKS file in <c>keys/</c>, for policies that must load from disk.</summary>
internal sealed class PolicyTestFolder : IDisposable
{
    /// <summary>
    /// A valid policy in 9 lines, so a test can append <c>routes:</c> at line 10 and know where its
    /// own lines are.
    /// </summary>
    public const string Header = """
        gateway:
          audience: https://gateway.example
        issuers:
          - issuer: https://idp.example
            jwks_file: keys/idp.jwks.json
        tiers:
          low: { risk: 1 }
        upstreams:
          crm: { destinations: [http://127.0.0.1:5101] }

        """;

    /// <summary><see cref="Header"/> plus one route, lines 10 to 16.</summary>
    public const string Minimal = Header + """
        routes:
          - id: crm-get-customer
            match: { methods: [GET], path: "/crm/customers/{customerId}" }
            upstream: crm
            action: crm.customers:read
            resource: crm:customer/{customerId}
            tier: low

        """;

    public PolicyTestFolder()
    {
        Path = Directory.CreateTempSubdirectory("gateway-policy-tests-").FullName;
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "keys"));
        File.WriteAllText(System.IO.Path.Combine(Path, "keys", "idp.jwks.json"), """{"keys":[]}""");
    }

    public string Path { get; }

    public string Write(string name, string yaml)
    {
        var file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, yaml);
        return file;
    }

    /// <summary>Loads <paramref name="yaml"/> as <c>gateway.yaml</c> in this folder.</summary>
    public PolicyLoadResult LoadText(string yaml) => PolicyLoader.LoadFromText(yaml, "gateway.yaml", Path);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
