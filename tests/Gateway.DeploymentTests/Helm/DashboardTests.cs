using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gateway.DeploymentTests.Helm;

/// <summary>
/// The Grafana dashboard the chart ships: off by default, a ConfigMap with the sidecar's label when on, and
/// every panel querying a metric the gateway really publishes (under the names an OpenTelemetry Collector's
/// Prometheus exporter gives them).
/// </summary>
public sealed partial class DashboardTests
{
    private const string Template = "dashboard-configmap.yaml";

    [Fact]
    public void DashboardValues_OffByDefault_WithTheSidecarsUsualLabel()
    {
        var dashboard = Chart.DefaultValues()["telemetry"]!["dashboard"]!;

        Assert.False(dashboard["enabled"]!.GetValue<bool>());
        Assert.Equal("1", dashboard["labels"]!["grafana_dashboard"]!.GetValue<string>());
        Assert.All(Chart.CiValuesFiles(), file => Assert.False(Chart.EffectiveValues(file)["telemetry"]!["dashboard"]!["enabled"]!.GetValue<bool>()));
    }

    [Fact]
    public void DashboardTemplate_RendersOnlyWhenEnabled_AConfigMapWithTheLabelsAndTheJsonFile()
    {
        var text = Chart.Templates()[Template];

        Assert.Matches(@"(?s)^\{\{- /\*.*?\*/\}\}\s*\{\{- if \.Values\.telemetry\.dashboard\.enabled \}\}\s*apiVersion: v1\s*kind: ConfigMap", text);
        Assert.EndsWith("{{- end }}\n", text, StringComparison.Ordinal);
        Assert.Contains("{{- with .Values.telemetry.dashboard.labels }}", text, StringComparison.Ordinal);
        Assert.Contains("{{- .Files.Get \"dashboards/gateway.json\" | nindent 4 }}", text, StringComparison.Ordinal);
        Assert.True(File.Exists(Chart.PathOf("dashboards/gateway.json")));
        Assert.DoesNotContain("dashboards", File.ReadAllText(Chart.PathOf(".helmignore")), StringComparison.Ordinal);
    }

    [Fact]
    public void Dashboard_EveryPanelQueriesAMetricTheGatewayPublishes_AndTheSignalsTheIssueNamesAreThere()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Chart.PathOf("dashboards/gateway.json")))!.AsObject();
        var instruments = Directory.EnumerateFiles(Repository.Path("src/Gateway.Core"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => InstrumentName().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        var exported = instruments
            .Select(i => i.Replace('.', '_'))
            .SelectMany(n => new[] { n + "_total", n + "_seconds_bucket", n + "_bucket", n })
            .ToHashSet(StringComparer.Ordinal);

        var panels = dashboard["panels"]!.AsArray().Select(p => p!.AsObject()).ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p["id"]!.GetValue<int>()).Distinct().Count());
        var queried = new HashSet<string>(StringComparer.Ordinal);
        foreach (var panel in panels)
        {
            var targets = panel["targets"]!.AsArray();
            Assert.NotEmpty(targets);
            foreach (var target in targets)
            {
                var expr = target!["expr"]!.GetValue<string>();
                var metrics = MetricName().Matches(expr).Select(m => m.Value).ToList();
                Assert.NotEmpty(metrics);
                Assert.All(metrics, m => Assert.True(exported.Contains(m), $"panel '{panel["title"]}' queries {m}, which no instrument of the gateway exports"));
                queried.UnionWith(metrics);
            }
        }

        // Step-up and approval rates, approval latency, revocation lag, the time from a revocation to the last call
        // it let through (and how many), token lifetimes.
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "gateway_step_up_challenges_total", "gateway_approvals_requested_total", "gateway_approvals_approved_total",
                "gateway_approvals_time_to_decision_seconds_bucket", "gateway_revocation_lag_seconds_bucket", "gateway_token_lifetime_seconds_bucket",
                "gateway_revocation_let_through_seconds_bucket", "gateway_revocation_let_through_calls_total",
            },
            queried);
    }

    [GeneratedRegex("\"(gateway\\.[a-z_.]+)\"")]
    private static partial Regex InstrumentName();

    [GeneratedRegex("gateway_[a-z_]+")]
    private static partial Regex MetricName();
}
