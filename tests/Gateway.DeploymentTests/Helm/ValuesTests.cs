using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gateway.DeploymentTests.Helm;

/// <summary>
/// values.yaml, the CI values and values.schema.json agree: each values file, merged over the
/// defaults as Helm merges it, passes the schema; the schema refuses what it should; and every
/// key is both commented in values.yaml and described in the schema.
/// </summary>
public sealed class ValuesTests
{
    public static TheoryData<string> ValuesFiles() => [.. ValuesFileNames()];

    public static IEnumerable<string> ValuesFileNames() => ["values.yaml", .. Chart.CiValuesFiles()];

    [Fact]
    public void CiValues_CoverEachDeploymentTheDocsDescribe()
    {
        Assert.Equal(
            ["cluster-values.yaml", "default-values.yaml", "sentinel-values.yaml", "three-replicas-redis-values.yaml"],
            Chart.CiValuesFiles());
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void ValuesFile_MergedOverTheDefaults_MatchesTheSchema(string valuesFile)
    {
        var errors = Chart.Validate(Chart.EffectiveValues(valuesFile));

        Assert.True(errors.Count == 0, $"{valuesFile}:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
    }

    [Theory]
    [InlineData("replicaCount: three", "/replicaCount")]
    [InlineData("replicas: 3", "replicas")]
    [InlineData("image: { pullPolicy: always }", "/image/pullPolicy")]
    [InlineData("image: { digest: latest }", "/image/digest")]
    [InlineData("service: { type: ExternalName }", "/service/type")]
    [InlineData("adminService: { type: Ingress }", "/adminService/type")]
    [InlineData("redis: { configuration: \"redis:6379,password=hunter2\" }", "/redis/configuration")]
    [InlineData("redis: { passwordSecret: { name: Redis_Secret } }", "/redis/passwordSecret/name")]
    [InlineData("probes: { readiness: { path: readyz } }", "/probes/readiness/path")]
    [InlineData("audit: { persistence: { enabled: true } }", "/audit/persistence/existingClaim")]
    [InlineData("policy: { files: { \"../escape.yaml\": x } }", "/policy/files")]
    [InlineData("rollingUpdate: { maxSurge: lots }", "/rollingUpdate/maxSurge")]
    [InlineData("telemetry: { otlp: { protocol: http } }", "/telemetry/otlp/protocol")]
    [InlineData("networkPolicy: { admin: { from: [ { namespace: ops } ] } }", "/networkPolicy/admin/from/0")]
    [InlineData("topologySpread: { whenUnsatisfiable: Never }", "/topologySpread/whenUnsatisfiable")]
    [InlineData("ports: { proxy: 80 }", "/ports/proxy")]
    public void Schema_RefusesAMistake(string overrideYaml, string where)
    {
        var values = Chart.Coalesce(YamlJson.ParseDocument(overrideYaml, "override"), Chart.DefaultValues());

        var errors = Chart.Validate(values);

        Assert.Contains(errors, e => e.Contains(where, StringComparison.Ordinal));
    }

    [Fact]
    public void ValuesYaml_EveryKey_HasACommentAboveItOrBesideIt()
    {
        var lines = Chart.ValuesText.Split('\n');
        var uncommented = KeysWithLines()
            .Where(k => !IsCommented(lines, k.Line))
            .Select(k => $"values.yaml:{k.Line}: {k.Path}")
            .ToList();

        Assert.True(uncommented.Count == 0, "keys without a comment:" + Environment.NewLine + string.Join(Environment.NewLine, uncommented));
    }

    [Fact]
    public void ValuesYaml_EveryKey_IsDescribedInTheSchema()
    {
        var schema = Chart.Schema();
        var missing = new List<string>();
        Walk(Chart.DefaultValues(), schema, "", schema, missing);

        Assert.True(missing.Count == 0, "values without a described schema:" + Environment.NewLine + string.Join(Environment.NewLine, missing));
    }

    [Fact]
    public void Schema_EveryTopLevelProperty_HasADefaultInValuesYaml()
    {
        var defaults = Chart.DefaultValues();
        var properties = Chart.Schema()["properties"]!.AsObject().Select(p => p.Key).Where(k => k != "global");

        Assert.Equal(properties.Order(StringComparer.Ordinal), defaults.Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DefaultValues_AreTheRestrictedPodSecurityProfile()
    {
        var values = Chart.DefaultValues();
        var pod = values["podSecurityContext"]!;
        Assert.True(pod["runAsNonRoot"]!.GetValue<bool>());
        Assert.Equal(64198, pod["runAsUser"]!.GetValue<long>());
        Assert.Equal("RuntimeDefault", pod["seccompProfile"]!["type"]!.GetValue<string>());

        var container = values["securityContext"]!;
        Assert.True(container["runAsNonRoot"]!.GetValue<bool>());
        Assert.True(container["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.False(container["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.False(container["privileged"]!.GetValue<bool>());
        Assert.Equal(["ALL"], container["capabilities"]!["drop"]!.AsArray().Select(c => c!.GetValue<string>()));

        Assert.False(values["serviceAccount"]!["automountToken"]!.GetValue<bool>());
        Assert.Equal("ClusterIP", values["adminService"]!["type"]!.GetValue<string>());
        Assert.Empty(values["networkPolicy"]!["admin"]!["from"]!.AsArray());
    }

    [Fact]
    public void DefaultValues_MatchTheImage()
    {
        // The chart runs the image as the Dockerfile builds it: same user, same ports, same policy folder.
        var values = Chart.DefaultValues();
        var dockerfile = Repository.ReadAllText("Dockerfile");
        Assert.Contains($"USER {values["podSecurityContext"]!["runAsUser"]}:{values["podSecurityContext"]!["runAsGroup"]}", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"EXPOSE {values["ports"]!["proxy"]} {values["ports"]!["admin"]}", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"\"--config\", \"{values["policy"]!["mountPath"]}/", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"--chown={values["podSecurityContext"]!["runAsUser"]}:{values["podSecurityContext"]!["runAsGroup"]} /rootfs{Parent(values["audit"]!["mountPath"]!.GetValue<string>())}", dockerfile, StringComparison.Ordinal);
    }

    private static string Parent(string path) => path[..path.LastIndexOf('/')];

    /// <summary>Every mapping key outside sequences, with its dotted path and 1-based line.</summary>
    private static List<(string Path, long Line)> KeysWithLines()
    {
        var keys = new List<(string, long)>();
        var parser = new Parser(new StringReader(Chart.ValuesText));
        var stack = new Stack<(bool IsMap, string Path, bool ExpectKey, string? PendingKey)>();
        while (parser.MoveNext())
        {
            var current = parser.Current!;
            switch (current)
            {
                case MappingStart:
                    stack.Push((true, ChildPath(stack), true, null));
                    break;
                case SequenceStart:
                    stack.Push((false, ChildPath(stack), false, null));
                    break;
                case MappingEnd or SequenceEnd:
                    stack.Pop();
                    AdvanceParent(stack);
                    break;
                case Scalar scalar when stack.Count > 0 && stack.Peek().IsMap && stack.Peek().ExpectKey:
                    var top = stack.Pop();
                    if (!stack.Any(s => !s.IsMap))
                    {
                        keys.Add((top.Path.Length == 0 ? scalar.Value : $"{top.Path}.{scalar.Value}", scalar.Start.Line));
                    }

                    stack.Push(top with { ExpectKey = false, PendingKey = scalar.Value });
                    break;
                case Scalar or AnchorAlias:
                    AdvanceParent(stack);
                    break;
            }
        }

        return keys;

        static string ChildPath(Stack<(bool IsMap, string Path, bool ExpectKey, string? PendingKey)> stack)
        {
            if (stack.Count == 0)
            {
                return "";
            }

            var parent = stack.Peek();
            return parent.IsMap && parent.PendingKey is not null
                ? (parent.Path.Length == 0 ? parent.PendingKey : $"{parent.Path}.{parent.PendingKey}")
                : parent.Path + "[]";
        }

        static void AdvanceParent(Stack<(bool IsMap, string Path, bool ExpectKey, string? PendingKey)> stack)
        {
            if (stack.Count > 0 && stack.Peek().IsMap)
            {
                var top = stack.Pop();
                stack.Push(top with { ExpectKey = true, PendingKey = null });
            }
        }
    }

    private static bool IsCommented(string[] lines, long line)
    {
        var text = lines[line - 1];
        if (text.Contains(" #", StringComparison.Ordinal))
        {
            return true;
        }

        // The line right above: a blank line in between detaches a comment from the key.
        return line >= 2 && lines[line - 2].TrimStart().StartsWith('#');
    }

    /// <summary>Follows each values key into the schema and notes keys the schema does not describe.</summary>
    private static void Walk(JsonNode? value, JsonObject schema, string path, JsonObject root, List<string> missing)
    {
        schema = Resolve(schema, root);
        if (value is not JsonObject map)
        {
            return;
        }

        var properties = schema["properties"] as JsonObject;
        foreach (var (key, child) in map)
        {
            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            JsonObject? childSchema = null;
            if (properties?[key] is JsonObject named)
            {
                childSchema = named;
            }
            else if (schema["additionalProperties"] is JsonObject)
            {
                // A free-form map (annotations, policy files): its entries share one schema.
                continue;
            }

            if (childSchema is null || childSchema["description"] is null)
            {
                missing.Add(childPath);
                continue;
            }

            Walk(child, childSchema, childPath, root, missing);
        }
    }

    private static JsonObject Resolve(JsonObject schema, JsonObject root)
    {
        while (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            schema = root["definitions"]![reference["#/definitions/".Length..]]!.AsObject();
        }

        return schema;
    }
}
