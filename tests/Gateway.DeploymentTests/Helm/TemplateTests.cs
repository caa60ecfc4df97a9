using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gateway.DeploymentTests.Helm;

/// <summary>
/// The templates' structure, checked without rendering them (no helm binary here): actions are
/// balanced, every value they read exists, every manifest carries the standard labels, and the
/// Deployment mounts, probes and secures the gateway as the chart promises. Where helm exists,
/// `helm lint` and `helm template` with each ci/*-values.yaml are the full check (docs/deploy.md).
/// </summary>
public sealed partial class TemplateTests
{
    private static readonly IReadOnlyDictionary<string, string> Templates = Chart.Templates();
    private static readonly string Deployment = Templates["deployment.yaml"];

    [Fact]
    public void Chart_HasEveryFileAReviewerExpects()
    {
        foreach (var file in new[]
        {
            "Chart.yaml", "values.yaml", "values.schema.json", "templates/_helpers.tpl", "templates/NOTES.txt",
            "templates/deployment.yaml", "templates/service.yaml", "templates/service-admin.yaml", "templates/configmap.yaml",
            "templates/secret.yaml", "templates/serviceaccount.yaml", "templates/hpa.yaml", "templates/pdb.yaml",
            "templates/networkpolicy.yaml",
        })
        {
            Assert.True(File.Exists(Chart.PathOf(file)), $"{Chart.Folder}/{file} is missing");
        }
    }

    [Fact]
    public void ChartYaml_IsApiVersion2WithVersionAndAppVersion()
    {
        var chart = YamlJson.ParseDocument(File.ReadAllText(Chart.PathOf("Chart.yaml")), "Chart.yaml");

        Assert.Equal("v2", chart["apiVersion"]!.GetValue<string>());
        Assert.Equal("gateway", chart["name"]!.GetValue<string>());
        Assert.Equal("application", chart["type"]!.GetValue<string>());
        Assert.Matches(SemVer(), chart["version"]!.GetValue<string>());
        Assert.Matches(SemVer(), chart["appVersion"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(chart["description"]?.GetValue<string>()));
    }

    [Fact]
    public void Templates_ActionsAndBlocksAreBalanced()
    {
        foreach (var (name, text) in Templates)
        {
            Assert.True(Count(text, "{{") == Count(text, "}}"), $"{name}: unbalanced {{{{ and }}}}");

            var depth = 0;
            foreach (Match action in Action().Matches(text))
            {
                var body = action.Groups["body"].Value;
                if (body.StartsWith("/*", StringComparison.Ordinal))
                {
                    Assert.True(body.EndsWith("*/", StringComparison.Ordinal), $"{name}: a comment must close with */ right before }}}}");
                    continue;
                }

                var keyword = body.Split([' ', '\n', '\t'], 2)[0];
                if (keyword is "if" or "range" or "with" or "define" or "block")
                {
                    depth++;
                }
                else if (keyword == "end")
                {
                    depth--;
                    Assert.True(depth >= 0, $"{name}: an {{{{ end }}}} without a block at offset {action.Index}");
                }
            }

            Assert.True(depth == 0, $"{name}: {depth} block(s) not closed with {{{{ end }}}}");
        }
    }

    [Fact]
    public void Templates_EveryIncludedTemplate_IsDefined()
    {
        var defined = Templates.Values.SelectMany(t => Define().Matches(t).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);
        foreach (var helper in new[] { "gateway.name", "gateway.fullname", "gateway.labels", "gateway.selectorLabels", "gateway.serviceAccountName" })
        {
            Assert.Contains(helper, defined);
        }

        var included = Templates.SelectMany(t => Include().Matches(t.Value).Select(m => (t.Key, Name: m.Groups[1].Value)));
        Assert.All(included, i => Assert.True(defined.Contains(i.Name), $"{i.Key} includes undefined template '{i.Name}'"));
    }

    [Fact]
    public void Templates_EveryValueTheyRead_ExistsInValuesYaml()
    {
        var values = Chart.DefaultValues();
        var missing = new List<string>();
        foreach (var (name, text) in Templates)
        {
            foreach (Match reference in ValuesReference().Matches(text))
            {
                var path = reference.Groups[1].Value;
                JsonNode? node = values;
                foreach (var part in path.Split('.'))
                {
                    if (node is not JsonObject map || !map.ContainsKey(part))
                    {
                        missing.Add($"{name}: .Values.{path}");
                        break;
                    }

                    node = map[part];
                }
            }
        }

        Assert.True(missing.Count == 0, "read by templates but not in values.yaml:" + Environment.NewLine + string.Join(Environment.NewLine, missing.Distinct()));
    }

    [Fact]
    public void Manifests_EveryOne_CarriesTheStandardLabelsAndTheReleaseNamespace()
    {
        foreach (var (name, text) in Chart.Manifests())
        {
            Assert.Contains("{{- include \"gateway.labels\" . | nindent 4 }}", text, StringComparison.Ordinal);
            Assert.Contains("namespace: {{ .Release.Namespace }}", text, StringComparison.Ordinal);
            Assert.True(Regex.IsMatch(text, @"(?m)^apiVersion: [a-z./0-9]+$"), $"{name}: no apiVersion");
            Assert.True(Regex.IsMatch(text, @"(?m)^kind: [A-Za-z]+$"), $"{name}: no kind");
        }
    }

    [Fact]
    public void Manifests_SelectorsUseOnlyTheImmutableSelectorLabels()
    {
        // Selectors of Deployments cannot change after install; the version label must not be in them.
        foreach (var (name, text) in Chart.Manifests())
        {
            foreach (Match selector in Regex.Matches(text, @"(?m)^(\s*)(matchLabels|selector):\s*\n\s*\{\{-? include ""([^""]+)"""))
            {
                Assert.True(selector.Groups[3].Value == "gateway.selectorLabels", $"{name}: a selector uses {selector.Groups[3].Value}");
            }
        }

        Assert.DoesNotContain("version", Section(Templates["_helpers.tpl"], "define \"gateway.selectorLabels\"", "{{- end }}"), StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_PolicyConfigMap_IsMountedAsAFolderWithoutSubPath()
    {
        var mount = Block(Deployment, "- name: policy\n              mountPath:");
        Assert.Contains("mountPath: {{ .Values.policy.mountPath }}", mount, StringComparison.Ordinal);
        Assert.Contains("readOnly: true", mount, StringComparison.Ordinal);
        Assert.DoesNotContain("subPath", mount, StringComparison.Ordinal);

        // subPath appears once in the whole Deployment: the per-pod audit folder on a shared claim.
        Assert.Single(Regex.Matches(Deployment, @"subPath(Expr)?:"));
        Assert.Contains("subPathExpr: $(POD_NAME)", Block(Deployment, "- name: audit\n              mountPath:"), StringComparison.Ordinal);

        var volume = Block(Deployment, "- name: policy\n          configMap:");
        Assert.Contains("name: {{ include \"gateway.policyConfigMapName\" . }}", volume, StringComparison.Ordinal);
        Assert.DoesNotContain("items:", volume, StringComparison.Ordinal);

        // `serve --config` reads what is mounted there.
        Assert.Contains("- --config\n            - {{ include \"gateway.configPath\" . | quote }}", Deployment, StringComparison.Ordinal);
        Assert.Contains(".Values.policy.mountPath", Section(Templates["_helpers.tpl"], "define \"gateway.configPath\"", "{{- end }}\n{{- end }}"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("livenessProbe", "liveness", "/healthz")]
    [InlineData("readinessProbe", "readiness", "/readyz")]
    [InlineData("startupProbe", "startup", "/healthz")]
    public void Deployment_Probes_CallTheHealthEndpointsOnTheAdminPort(string probe, string valuesKey, string defaultPath)
    {
        var block = Block(Deployment, probe + ":");
        Assert.Contains("port: admin", block, StringComparison.Ordinal);
        Assert.Contains($"path: {{{{ .Values.probes.{valuesKey}.path }}}}", block, StringComparison.Ordinal);
        Assert.Equal(defaultPath, Chart.DefaultValues()["probes"]![valuesKey]!["path"]!.GetValue<string>());

        Assert.Contains("- name: admin\n              containerPort: {{ .Values.ports.admin }}", Deployment, StringComparison.Ordinal);
        Assert.Contains("- --admin-urls\n            - {{ printf \"http://0.0.0.0:%d\" (int .Values.ports.admin) | quote }}", Deployment, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_SecurityContexts_AreTakenFromValues()
    {
        Assert.Contains("securityContext:\n        {{- toYaml .Values.podSecurityContext | nindent 8 }}", Deployment, StringComparison.Ordinal);
        Assert.Contains("securityContext:\n            {{- toYaml .Values.securityContext | nindent 12 }}", Deployment, StringComparison.Ordinal);
        Assert.Contains("automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}", Deployment, StringComparison.Ordinal);
        Assert.Contains("- name: tmp\n              mountPath: /tmp", Deployment, StringComparison.Ordinal);
        Assert.Contains("resources:\n            {{- toYaml .Values.resources | nindent 12 }}", Deployment, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_RollsOnSecretChangesButNotOnPolicyChanges()
    {
        var annotations = Section(Deployment, "  template:\n    metadata:\n      annotations:", "      labels:");
        Assert.Contains("checksum/secret: {{ include (print $.Template.BasePath \"/secret.yaml\") . | sha256sum }}", annotations, StringComparison.Ordinal);
        Assert.DoesNotContain("configmap.yaml", annotations, StringComparison.Ordinal);
        Assert.DoesNotContain("checksum/config", annotations, StringComparison.Ordinal);
        Assert.DoesNotContain(".Values.policy", annotations, StringComparison.Ordinal);
        Assert.Contains("reloads it in place", annotations, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_Secrets_ReachTheProcessOnlyThroughSecretKeyRefs()
    {
        foreach (var variable in new[] { "GATEWAY_ADMIN_KEY", "GATEWAY_REDIS_PASSWORD", "OTEL_EXPORTER_OTLP_HEADERS" })
        {
            var block = Block(Deployment, $"- name: {variable}\n");
            Assert.Contains("valueFrom:\n                secretKeyRef:", block, StringComparison.Ordinal);
        }

        // Gateway__Store__Redis is either a secretKeyRef or a value that holds no password itself.
        Assert.Contains("- name: Gateway__Store__Redis\n              valueFrom:\n                secretKeyRef:", Deployment, StringComparison.Ordinal);
        Assert.Contains("printf \"%s,password=$(GATEWAY_REDIS_PASSWORD)\" .Values.redis.configuration", Deployment, StringComparison.Ordinal);
        Assert.DoesNotContain(".Values.secret.stringData", Deployment, StringComparison.Ordinal);

        var delegation = Block(Deployment, "- name: delegation-key\n          secret:");
        Assert.Contains("secretName: {{ .Values.delegation.signingKeySecret }}", delegation, StringComparison.Ordinal);
        Assert.Contains("defaultMode: 0440", delegation, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_UpstreamCredentialSecrets_AreMountedReadOnlyOneFolderEach_ReadableByTheGroupOnly()
    {
        var volume = Block(Deployment, "- name: upstream-{{ .name }}\n          secret:");
        Assert.Contains("secretName: {{ .existingSecret }}", volume, StringComparison.Ordinal);
        Assert.Contains("defaultMode: 0440", volume, StringComparison.Ordinal);
        var mount = Block(Deployment, "- name: upstream-{{ .name }}\n              mountPath:");
        Assert.Contains("{{ printf \"%s/%s\" $.Values.upstreamCredentials.mountRoot .name }}", mount, StringComparison.Ordinal);
        Assert.Contains("readOnly: true", mount, StringComparison.Ordinal);
        Assert.Equal(2, Deployment.Split("{{- range .Values.upstreamCredentials.secrets }}").Length - 1);
        Assert.Empty(Chart.DefaultValues()["upstreamCredentials"]!["secrets"]!.AsArray());
    }

    [Fact]
    public void Deployment_SpreadsReplicasAndUpdatesWithoutLosingCapacity()
    {
        Assert.Contains("topologySpreadConstraints:", Deployment, StringComparison.Ordinal);
        Assert.Contains("topologyKey: {{ . }}", Deployment, StringComparison.Ordinal);
        Assert.Contains("{{- if not .Values.autoscaling.enabled }}\n  replicas: {{ .Values.replicaCount }}", Deployment, StringComparison.Ordinal);
        Assert.Contains("type: RollingUpdate", Deployment, StringComparison.Ordinal);
        Assert.Equal(0, Chart.DefaultValues()["rollingUpdate"]!["maxUnavailable"]!.GetValue<long>());
        Assert.Contains("preStop:\n              sleep:", Deployment, StringComparison.Ordinal);
    }

    [Fact]
    public void Services_KeepTheAdminPortOffTheProxyService()
    {
        var proxy = Templates["service.yaml"];
        Assert.Contains("targetPort: http", proxy, StringComparison.Ordinal);
        Assert.DoesNotContain("admin", proxy.Replace("admin port has its own Service", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var admin = Templates["service-admin.yaml"];
        Assert.Contains("targetPort: admin", admin, StringComparison.Ordinal);
        Assert.Contains("type: {{ .Values.adminService.type }}", admin, StringComparison.Ordinal);
    }

    [Fact]
    public void NetworkPolicy_OpensTheAdminPortOnlyToListedPeers()
    {
        var policy = Templates["networkpolicy.yaml"];
        var admin = Section(policy, "{{- with .Values.networkPolicy.admin.from }}", "{{- end }}");
        Assert.Contains("- port: admin", admin, StringComparison.Ordinal);
        Assert.Contains("from:", admin, StringComparison.Ordinal);

        // Egress: DNS, Redis, upstreams and OTLP, each a rule of its own.
        foreach (var reference in new[] { "$egress.dns", "$egress.redis", "$egress.upstreams", "$egress.otlp", "$egress.extra" })
        {
            Assert.Contains(reference, policy, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ConfigMap_HoldsThePolicyFilesUnlessAnExistingOneIsNamed()
    {
        var configMap = Templates["configmap.yaml"];
        Assert.Contains("{{- if not .Values.policy.existingConfigMap }}", configMap, StringComparison.Ordinal);
        Assert.Contains("{{- toYaml .Values.policy.files | nindent 2 }}", configMap, StringComparison.Ordinal);
        Assert.Contains(".Values.policy.existingConfigMap", Section(Templates["_helpers.tpl"], "define \"gateway.policyConfigMapName\"", "{{- end }}\n{{- end }}"), StringComparison.Ordinal);
    }

    private static int Count(string text, string token) => Regex.Count(text, Regex.Escape(token));

    /// <summary>From the line holding <paramref name="start"/> to the next line indented no deeper than it.</summary>
    private static string Block(string text, string start)
    {
        var index = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{start}' not found");
        var lineStart = text.LastIndexOf('\n', index) + 1;
        var indent = index - lineStart;
        var lines = text[lineStart..].Split('\n');
        var block = new List<string> { lines[0] };
        foreach (var line in lines.Skip(1))
        {
            var trimmed = line.TrimStart();
            var lineIndent = line.Length - trimmed.Length;
            if (trimmed.Length > 0 && lineIndent <= indent && !trimmed.StartsWith("{{", StringComparison.Ordinal))
            {
                break;
            }

            block.Add(line);
        }

        return string.Join('\n', block);
    }

    private static string Section(string text, string from, string to)
    {
        var start = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{from}' not found");
        var end = text.IndexOf(to, start + from.Length, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    [GeneratedRegex(@"\{\{-?\s*(?<body>.*?)\s*-?\}\}", RegexOptions.Singleline)]
    private static partial Regex Action();

    [GeneratedRegex(@"\{\{-?\s*define\s+""([^""]+)""")]
    private static partial Regex Define();

    [GeneratedRegex(@"include\s+""([^""]+)""")]
    private static partial Regex Include();

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")]
    private static partial Regex SemVer();
}
