namespace Gateway.DeploymentTests.Docs;

/// <summary>Places where two files describe one thing and a newcomer noticed they disagreed.</summary>
public sealed class DocsConsistencyTests
{
    [Fact]
    public void DemoPolicy_CallsTheRiskWindowFixed_AsBudgetsDocsAndTheAdminApiDo()
    {
        var policy = Repository.ReadAllText("config/gateway.yaml");

        Assert.DoesNotContain("sliding", policy, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("per fixed window", policy, StringComparison.Ordinal);
        Assert.Contains("Fixed windows aligned to multiples of the window length", Repository.ReadAllText("docs/budgets.md"), StringComparison.Ordinal);
    }

    [Fact]
    public void Runbook_SetsAdminAndAuditForALocalGatewayToo_AndEveryCommandUsesThem()
    {
        var lines = Repository.ReadAllText("docs/runbook.md").Split('\n');
        var firstKubectl = Array.FindIndex(lines, l => l.TrimStart().StartsWith("kubectl", StringComparison.Ordinal));
        var localAdmin = Array.FindIndex(lines, l => l.Trim() == "ADMIN=http://127.0.0.1:9901");
        var localAudit = Array.FindIndex(lines, l => l.Trim() == "AUDIT=config/audit/decisions.jsonl");

        Assert.True(localAdmin >= 0 && localAdmin < firstKubectl, "the runbook sets ADMIN for a local gateway before any kubectl step");
        Assert.True(localAudit >= 0, "the runbook sets AUDIT to the demo's audit file");
        // The demo's audit.file, relative to config/, is what that AUDIT names.
        Assert.Contains("  file: audit/decisions.jsonl", Repository.ReadAllText("config/gateway.yaml"), StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("jq", StringComparison.Ordinal) && l.Contains("/var/lib/gateway", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("}' /var/lib/gateway", StringComparison.Ordinal));
    }
}
