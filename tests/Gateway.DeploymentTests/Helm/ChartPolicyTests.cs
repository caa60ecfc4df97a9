using System.Text.Json.Nodes;
using Gateway.Policy;

namespace Gateway.DeploymentTests.Helm;

/// <summary>
/// The policies the chart ships (values.yaml and the CI values) are written to a folder laid out
/// as the ConfigMap mount would be, and loaded with the gateway's own loader: a chart whose
/// example policy does not load would crash-loop on install.
/// </summary>
public sealed class ChartPolicyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-chart-policy-").FullName;

    public static TheoryData<string> ValuesFilesWithPolicies()
    {
        var data = new TheoryData<string>();
        foreach (var file in ValuesTests.ValuesFileNames())
        {
            if (string.IsNullOrEmpty(Chart.EffectiveValues(file)["policy"]!["existingConfigMap"]!.GetValue<string>()))
            {
                data.Add(file);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ValuesFilesWithPolicies))]
    public void ChartPolicy_AsMounted_LoadsWithoutErrorsAndAuditsToTheAuditVolume(string valuesFile)
    {
        var values = Chart.EffectiveValues(valuesFile);
        var policy = values["policy"]!;
        foreach (var (name, content) in policy["files"]!.AsObject())
        {
            File.WriteAllText(Path.Combine(_folder, name), content!.GetValue<string>());
        }

        var entry = policy["entry"]!.GetValue<string>();
        var result = PolicyLoader.Load(entry.Length == 0 ? _folder : Path.Combine(_folder, entry));

        Assert.True(result.Succeeded, $"{valuesFile}:{Environment.NewLine}{string.Join(Environment.NewLine, result.Errors)}");

        // The policy folder is a read-only ConfigMap: the audit file must be on the audit volume.
        var audit = result.Policy!.Audit.File;
        Assert.NotNull(audit);
        Assert.StartsWith(values["audit"]!["mountPath"]!.GetValue<string>() + "/", audit, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFilesWithPolicies))]
    public void ChartPolicy_WithMoreThanOneReplica_UsesTheSharedRedisStore(string valuesFile)
    {
        var values = Chart.EffectiveValues(valuesFile);
        if (!IsReplicated(values))
        {
            return;
        }

        foreach (var (name, content) in values["policy"]!["files"]!.AsObject())
        {
            File.WriteAllText(Path.Combine(_folder, name), content!.GetValue<string>());
        }

        var policy = PolicyLoader.Load(_folder).GetPolicyOrThrow();
        Assert.Equal(StoreKind.Redis, policy.Gateway.Store);
        Assert.True(HasRedisConfiguration(values), $"{valuesFile}: store is redis but no redis configuration is set");
    }

    [Theory]
    [InlineData("three-replicas-redis-values.yaml", "Gateway__Store__Redis from configuration + passwordSecret")]
    [InlineData("sentinel-values.yaml", "serviceName=")]
    [InlineData("cluster-values.yaml", "configurationSecret")]
    public void CiValues_ReplicatedDeployments_NameTheirRedis(string valuesFile, string expectation)
    {
        var values = Chart.EffectiveValues(valuesFile);
        Assert.True(IsReplicated(values), $"{valuesFile} runs one replica");
        Assert.True(HasRedisConfiguration(values), $"{valuesFile}: {expectation}");

        var redis = values["redis"]!;
        var configuration = redis["configuration"]!.GetValue<string>();
        Assert.DoesNotContain("password=", configuration, StringComparison.OrdinalIgnoreCase);
        switch (valuesFile)
        {
            case "three-replicas-redis-values.yaml":
                Assert.Equal(3, values["replicaCount"]!.GetValue<long>());
                Assert.NotEqual("", redis["passwordSecret"]!["name"]!.GetValue<string>());
                break;
            case "sentinel-values.yaml":
                Assert.Contains(",serviceName=", configuration, StringComparison.Ordinal);
                break;
            case "cluster-values.yaml":
                Assert.NotEqual("", redis["configurationSecret"]!["name"]!.GetValue<string>());
                break;
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static bool IsReplicated(JsonObject values) =>
        values["replicaCount"]!.GetValue<long>() > 1 || values["autoscaling"]!["enabled"]!.GetValue<bool>();

    private static bool HasRedisConfiguration(JsonObject values)
    {
        var redis = values["redis"]!;
        return redis["configuration"]!.GetValue<string>().Length > 0 || redis["configurationSecret"]!["name"]!.GetValue<string>().Length > 0;
    }
}
