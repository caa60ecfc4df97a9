using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Gateway.DeploymentTests.Helm;

/// <summary>The chart in charts/gateway, read from disk: values, CI values, schema and templates.</summary>
internal static class Chart
{
    public const string Folder = "charts/gateway";

    // The dialect is named rather than inferred: the library's default is its newest dialect,
    // and the chart's schema is draft-07, the newest draft every Helm 3 release understands.
    private static readonly Lazy<JsonSchema> LazySchema = new(() =>
        JsonSchema.FromText(File.ReadAllText(PathOf("values.schema.json")), new BuildOptions { Dialect = Dialect.Draft07 }));

    public static string PathOf(string relative) => Repository.Path($"{Folder}/{relative}");

    public static string ValuesText => File.ReadAllText(PathOf("values.yaml"));

    /// <summary>values.yaml as Helm sees it.</summary>
    public static JsonObject DefaultValues() => YamlJson.ParseDocument(ValuesText, $"{Folder}/values.yaml");

    /// <summary>The file names of ci/*-values.yaml, the values `helm lint` and chart-testing run with.</summary>
    public static IEnumerable<string> CiValuesFiles() =>
        Directory.EnumerateFiles(PathOf("ci"), "*-values.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal);

    /// <summary>values.yaml, or values.yaml with ci/NAME over it (<c>helm install -f ci/NAME</c>).</summary>
    public static JsonObject EffectiveValues(string valuesFile)
    {
        var defaults = DefaultValues();
        if (valuesFile == "values.yaml")
        {
            return defaults;
        }

        var relative = $"ci/{valuesFile}";
        var overrides = YamlJson.ParseDocument(File.ReadAllText(PathOf(relative)), $"{Folder}/{relative}");
        return Coalesce(overrides, defaults);
    }

    /// <summary>
    /// Helm's merge of user values over chart defaults: mappings merge key by key, anything else
    /// (lists included) is replaced, and a null removes the default's key.
    /// </summary>
    public static JsonObject Coalesce(JsonObject overrides, JsonObject defaults)
    {
        var result = (JsonObject)defaults.DeepClone();
        foreach (var (key, value) in overrides)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else if (value is JsonObject map && result[key] is JsonObject defaultMap)
            {
                result[key] = Coalesce(map, defaultMap);
            }
            else
            {
                result[key] = value.DeepClone();
            }
        }

        return result;
    }

    /// <summary>Validates against values.schema.json; returns one line per error (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(JsonNode values)
    {
        using var document = JsonDocument.Parse(values.ToJsonString());
        var results = LazySchema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        var errors = new List<string>();
        Collect(results, errors);
        return errors;
    }

    // Only failing branches below failing nodes: a oneOf alternative that did not match is not
    // an error when another one did.
    private static void Collect(EvaluationResults node, List<string> errors)
    {
        if (node.IsValid)
        {
            return;
        }

        foreach (var (keyword, message) in node.Errors ?? new Dictionary<string, string>())
        {
            errors.Add($"{node.InstanceLocation} ({node.EvaluationPath}): {keyword}: {message}");
        }

        var children = node.Details ?? [];
        foreach (var child in children)
        {
            Collect(child, errors);
        }

        // Some keywords (`not`) fail a node without a message of their own.
        if (node.Errors is not { Count: > 0 } && !children.Any(c => !c.IsValid))
        {
            errors.Add($"{node.InstanceLocation} ({node.EvaluationPath}): does not match the schema");
        }
    }

    public static JsonObject Schema() => JsonNode.Parse(File.ReadAllText(PathOf("values.schema.json")))!.AsObject();

    /// <summary>templates/*: name and text.</summary>
    public static IReadOnlyDictionary<string, string> Templates() =>
        Directory.EnumerateFiles(PathOf("templates"))
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal);

    /// <summary>The templates that render Kubernetes objects (not helpers, not NOTES.txt).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Manifests() =>
        Templates().Where(t => t.Key.EndsWith(".yaml", StringComparison.Ordinal)).OrderBy(t => t.Key, StringComparer.Ordinal);
}
