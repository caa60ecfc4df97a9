using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

/// <summary>Reading plain values out of YAML nodes the way YAML 1.2's core schema does.</summary>
internal static class YamlValues
{
    /// <summary><c>key:</c>, <c>key: ~</c> and <c>key: null</c> mean "not set"; a quoted <c>'null'</c> is the text.</summary>
    public static bool IsNull(YamlNode? node) =>
        node is null
        || (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
            && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");

    /// <summary>What a node is, for "expected X, found Y" messages.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar when IsNull(scalar) => "nothing",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => "an unsupported node",
    };
}
