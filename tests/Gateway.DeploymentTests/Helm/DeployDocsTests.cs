using System.Text.RegularExpressions;

namespace Gateway.DeploymentTests.Helm;

/// <summary>docs/deploy.md stays true to the chart: its values examples pass the schema, and it names every CI values file and the helm checks.</summary>
public sealed partial class DeployDocsTests
{
    private static readonly string Docs = Repository.ReadAllText("docs/deploy.md");

    [Fact]
    public void DeployDocs_ValuesExamples_MatchTheSchema()
    {
        var examples = YamlBlock().Matches(Docs).Select(m => m.Groups[1].Value).Where(y => y.StartsWith("replicaCount:", StringComparison.Ordinal) || y.StartsWith("telemetry:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(examples);
        foreach (var example in examples)
        {
            var errors = Chart.Validate(Chart.Coalesce(YamlJson.ParseDocument(example, "docs/deploy.md"), Chart.DefaultValues()));
            Assert.True(errors.Count == 0, example + Environment.NewLine + string.Join(Environment.NewLine, errors));
        }
    }

    [Fact]
    public void DeployDocs_NameEveryCiValuesFileAndTheHelmChecks()
    {
        foreach (var file in Chart.CiValuesFiles().Where(f => f != "default-values.yaml"))
        {
            Assert.Contains($"(../charts/gateway/ci/{file})", Docs, StringComparison.Ordinal);
        }

        Assert.Contains("helm lint charts/gateway", Docs, StringComparison.Ordinal);
        Assert.Contains("helm template gateway charts/gateway", Docs, StringComparison.Ordinal);
        Assert.Contains("docker build", Docs, StringComparison.Ordinal);
    }

    [GeneratedRegex("```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
