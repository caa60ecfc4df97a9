using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

/// <summary>One top-level section (<c>gateway:</c>, <c>routes:</c>, ...) as found in one file.</summary>
internal sealed record PolicySection(PolicyFile File, YamlScalarNode Key, YamlNode Value);
