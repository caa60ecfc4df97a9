using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

/// <summary>
/// One source file of a policy while it loads: where it is (as the user named it, for messages, and
/// absolute, for resolving relative paths) and the shared error list its problems go to. YAML nodes
/// know their line and column but not their file, so everything that reports on a node carries one of these.
/// </summary>
internal sealed class PolicyFile
{
    public PolicyFile(string displayPath, string fullPath, string directory, PolicyErrorCollector errors)
    {
        DisplayPath = displayPath;
        FullPath = fullPath;
        Directory = directory;
        Errors = errors;
    }

    /// <summary>The path as the user wrote it (<c>config/gateway.yaml</c>), so errors point where they look.</summary>
    public string DisplayPath { get; }

    public string FullPath { get; }

    /// <summary>Relative paths in the file (<c>jwks_file</c>, <c>audit.file</c>) resolve against this folder.</summary>
    public string Directory { get; }

    public PolicyErrorCollector Errors { get; }

    /// <summary>True once YAML parsing failed, so later checks can avoid errors that only echo the syntax error.</summary>
    public bool ParseFailed { get; set; }

    public SourceLocation At(YamlNode node) => At(node.Start);

    public SourceLocation At(Mark mark) =>
        // YamlDotNet marks are 1-based; an empty mark (0) still has to print as a real position.
        new(DisplayPath, Math.Max(1, (int)mark.Line), Math.Max(1, (int)mark.Column));

    public SourceLocation Start => new(DisplayPath, 1, 1);

    public void Error(YamlNode node, string message) => Errors.Add(At(node), message);

    public void Error(Mark mark, string message) => Errors.Add(At(mark), message);

    public string ResolvePath(string path) => Path.GetFullPath(path, Directory);
}
