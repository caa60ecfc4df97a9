using System.Xml.Linq;
using Gateway.FunctionalTests.Audit;
using Gateway.Tokens;

namespace Gateway.FunctionalTests.PolicyTesting;

/// <summary><c>gateway test</c> as a platform team's CI runs it: the real command line, in its own process.</summary>
public sealed class PolicyTestCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-policy-tests-").FullName;

    private static string Root { get; } = FindRoot();

    private static string DemoPolicy => Path.Combine(Root, "config", "gateway.yaml");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Test_DemoPolicyCasesShippedInConfig_AllPass()
    {
        var result = await AuditCli.RunAsync("test", DemoPolicy, Path.Combine(Root, "config", "tests", "gateway.cases.yaml"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("26 passed, 0 failed", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_FailingCases_ReportFileLineAndWhatWasDecided_Exit1AndJUnitParsesBack()
    {
        var cases = Write("failing.cases.yaml", """
            defaults:
              token: { sub: user:alice, agent: agent:planner }
            cases:
              - name: granted read
                token: { grants: [{ actions: [crm.customers:read], resources: [crm:customer/42] }] }
                request: { path: /crm/customers/42 }
                expect: allow
              - name: wrong expectation on scope
                token: { grants: [{ actions: [crm.customers:read], resources: [crm:customer/42] }] }
                request: { path: /crm/customers/43 }
                expect: allow
              - name: wrong challenge expected
                token:
                  intent: step_up
                  grants: [{ actions: [crm.customers:delete], resources: [crm:customer/42] }]
                request: { method: DELETE, path: /crm/customers/42 }
                expect: { error: insufficient_user_authentication, challenge: max_age=60 }
            """);
        var junit = Path.Combine(_folder, "results.xml");

        var result = await AuditCli.RunAsync("test", DemoPolicy, cases, "--junit", junit);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"{cases}:8:5: FAIL wrong expectation on scope: expected allow, decided deny insufficient_scope on route crm-get-customer: The token does not grant 'crm.customers:read' on 'crm:customer/43'", result.Error, StringComparison.Ordinal);
        Assert.Contains($"{cases}:12:5: FAIL wrong challenge expected: expected deny insufficient_user_authentication with challenge containing 'max_age=60', decided deny insufficient_user_authentication (step_up)", result.Error, StringComparison.Ordinal);
        Assert.Contains("max_age=300", result.Error, StringComparison.Ordinal);
        Assert.Contains("1 passed, 2 failed", result.Output, StringComparison.Ordinal);

        var xml = XDocument.Load(junit);
        var suite = Assert.Single(xml.Root!.Elements("testsuite"));
        Assert.Equal("3", suite.Attribute("tests")!.Value);
        Assert.Equal("2", suite.Attribute("failures")!.Value);
        var testCases = suite.Elements("testcase").ToDictionary(e => e.Attribute("name")!.Value);
        Assert.Null(testCases["granted read"].Element("failure"));
        Assert.Equal("4", testCases["granted read"].Attribute("line")!.Value);
        var failure = testCases["wrong expectation on scope"].Element("failure")!;
        Assert.Equal("8", testCases["wrong expectation on scope"].Attribute("line")!.Value);
        Assert.Equal("expected allow, decided deny insufficient_scope", failure.Attribute("message")!.Value);
        Assert.NotNull(testCases["wrong challenge expected"].Element("failure"));
    }

    [Fact]
    public async Task Test_EveryStateKindAndATokenFile_DecideAsTheGatewayWould()
    {
        // A real token of the demo issuer, checked with the issuer's real published keys.
        using var key = SigningKey.Load(Path.Combine(Root, "config", "keys", "demo-private.jwk"));
        var jwt = new TokenMinter(key).Mint(new MintRequest
        {
            Issuer = "https://idp.example",
            Audience = "https://gateway.example",
            Subject = "user:bob",
            Agent = "agent:support",
            Actions = ["payments.payments:read"],
            Resources = ["payments:payment/*"],
            Ttl = TimeSpan.FromMinutes(10),
            ClientId = "client-7",
        });
        await File.WriteAllTextAsync(Path.Combine(_folder, "bob.jwt"), jwt);
        var cases = Write("state.cases.yaml", """
            defaults:
              token: { sub: user:alice, agent: agent:planner, jti: tok-1, client_id: client-1, grants: [{ actions: ["crm.customers:*"], resources: ["crm:customer/*"] }] }
            cases:
              - { name: fresh, request: { path: /crm/customers/1 }, expect: allow }
              - { name: steps left, token: { max_steps: 3 }, request: { path: /crm/customers/1 }, state: { steps_used: 2 }, expect: allow }
              - { name: steps gone, token: { max_steps: 3 }, request: { path: /crm/customers/1 }, state: { steps_used: 3 }, expect: step_limit_exceeded }
              - { name: risk left, request: { method: PATCH, path: /crm/customers/1 }, state: { risk_used: 95 }, expect: allow }
              - { name: risk gone, request: { method: PATCH, path: /crm/customers/1 }, state: { risk_used: 96 }, expect: { error: approval_required, reason: risk_budget } }
              - { name: jti revoked, request: { path: /crm/customers/1 }, state: { revoked: [{ jti: tok-1 }] }, expect: { error: invalid_token, reason: revoked } }
              - { name: other jti revoked, request: { path: /crm/customers/1 }, state: { revoked: [{ jti: tok-2 }] }, expect: allow }
              - { name: agent revoked, request: { path: /crm/customers/1 }, state: { revoked: [{ agent: agent:planner }] }, expect: { error: invalid_token, reason: revoked } }
              - { name: user revoked, request: { path: /crm/customers/1 }, state: { revoked: [{ sub: user:alice }] }, expect: { error: invalid_token, reason: revoked } }
              - { name: client revoked, request: { path: /crm/customers/1 }, state: { revoked: [{ client_id: client-1 }] }, expect: { error: invalid_token, reason: revoked } }
              - { name: revoked before issue only, request: { path: /crm/customers/1 }, state: { revoked: [{ sub: user:alice, issued_before: -10m }] }, expect: allow }
              - { name: token file, token_file: bob.jwt, request: { path: /payments/p-9 }, expect: allow }
              - { name: token file revoked by client, token_file: bob.jwt, request: { path: /payments/p-9 }, state: { revoked: [{ client_id: client-7 }] }, expect: invalid_token }
              - { name: token file out of scope, token_file: bob.jwt, request: { path: /crm/customers/1 }, expect: insufficient_scope }
            """);

        var result = await AuditCli.RunAsync("test", DemoPolicy, cases);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("14 passed, 0 failed", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_ShadowModeRoute_ExpectsShadowDeny()
    {
        var policy = File.ReadAllText(DemoPolicy).Replace("    # To trial a route before enforcing it, add: mode: shadow", "    mode: shadow", StringComparison.Ordinal);
        var policyPath = Path.Combine(_folder, "gateway.yaml");
        await File.WriteAllTextAsync(policyPath, policy.Replace("jwks_file: keys/demo.jwks.json", $"jwks_file: {Path.Combine(Root, "config", "keys", "demo.jwks.json")}", StringComparison.Ordinal));
        var cases = Write("shadow.cases.yaml", """
            cases:
              - name: refund out of scope, shadow
                token: { sub: user:alice, agent: agent:planner, grants: [{ actions: [payments.payments:read], resources: ["payments:payment/*"] }] }
                request: { method: POST, path: /payments/p-1/refunds }
                expect: { decision: shadow_deny, error: insufficient_scope }
              - name: the same, expected enforced
                token: { sub: user:alice, agent: agent:planner, grants: [{ actions: [payments.payments:read], resources: ["payments:payment/*"] }] }
                request: { method: POST, path: /payments/p-1/refunds }
                expect: insufficient_scope
            """);

        var result = await AuditCli.RunAsync("test", policyPath, cases);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("1 passed, 1 failed", result.Output, StringComparison.Ordinal);
        Assert.Contains("FAIL the same, expected enforced: expected deny insufficient_scope, decided shadow_deny insufficient_scope", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_UnreadableCasesOrPolicy_Exit2WithEveryProblemAndItsPosition()
    {
        var cases = Write("bad.cases.yaml", """
            cases:
              - name: typo in a key
                token: { sub: user:alice, agent: agent:planner }
                reqest: { path: /crm/customers/1 }
                expect: allow
              - name: misspelt code
                token: { sub: user:alice, agent: agent:planner }
                request: { path: /crm/customers/1 }
                expect: insuficient_scope
            """);

        var result = await AuditCli.RunAsync("test", DemoPolicy, cases);
        var broken = await AuditCli.RunAsync("test", Path.Combine(_folder, "missing.yaml"), cases);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"{cases}:4:5: unknown key 'reqest' in case 'typo in a key' (did you mean 'request'?)", result.Error, StringComparison.Ordinal);
        Assert.Contains($"{cases}:9:13: 'insuficient_scope' in case 'misspelt code' is neither allow, deny, shadow_deny nor an error code", result.Error, StringComparison.Ordinal);
        Assert.Contains("insufficient_scope", result.Error, StringComparison.Ordinal);
        Assert.True(broken.ExitCode == 2, broken.ToString());
        Assert.Contains("the policy does not load", broken.Error, StringComparison.Ordinal);
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Gateway.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("Run the tests from a checkout.");
    }
}
