using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.DeploymentTests.Helm;

/// <summary>
/// Turns a YAML document into JSON the way Helm does before it checks values.schema.json: plain
/// scalars become null, booleans and numbers, quoted and block scalars stay strings.
/// </summary>
internal static partial class YamlJson
{
    /// <summary>Parses one YAML document; an empty document is an empty object (as Helm treats an empty values file).</summary>
    public static JsonObject ParseDocument(string yaml, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new InvalidOperationException($"{source}:{ex.Start.Line}:{ex.Start.Column}: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0)
        {
            return [];
        }

        var node = Convert(stream.Documents[0].RootNode, source);
        return node switch
        {
            null => [],
            JsonObject map => map,
            _ => throw new InvalidOperationException($"{source}: the document is not a mapping"),
        };
    }

    public static JsonNode? Convert(YamlNode node, string source)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var json = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    var name = ((YamlScalarNode)key).Value ?? "";
                    if (json.ContainsKey(name))
                    {
                        throw new InvalidOperationException($"{source}:{key.Start.Line}: duplicate key '{name}'");
                    }

                    json[name] = Convert(value, source);
                }

                return json;
            case YamlSequenceNode sequence:
                return new JsonArray([.. sequence.Children.Select(c => Convert(c, source))]);
            case YamlScalarNode scalar:
                return Scalar(scalar, source);
            default:
                throw new InvalidOperationException($"{source}:{node.Start.Line}: unsupported YAML node {node.NodeType}");
        }
    }

    private static JsonValue? Scalar(YamlScalarNode scalar, string source)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        // YAML 1.1 (which Helm's parser follows) reads these as booleans; a reader would not.
        if (Yaml11Boolean().IsMatch(text))
        {
            throw new InvalidOperationException($"{source}:{scalar.Start.Line}: '{text}' is a boolean to Helm; write true or false, or quote it");
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (FloatNumber().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex("^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")]
    private static partial Regex Yaml11Boolean();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatNumber();
}
