using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

/// <summary>
/// Loads the route-policy file (or a folder of them) into a validated <see cref="GatewayPolicy"/>,
/// collecting every error with its file, line and column instead of stopping at the first, so that
/// one <c>gateway validate</c> run, or one refused hot reload, tells the user everything to fix.
/// </summary>
public static class PolicyLoader
{
    // Strict: a policy that is not valid UTF-8 is more likely a wrong file than a policy.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Loads <paramref name="path"/>: a YAML file, or a folder whose <c>*.yaml</c> and <c>*.yml</c>
    /// files (not in subfolders, not hidden) are merged in file-name order.
    /// </summary>
    public static PolicyLoadResult Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var errors = new PolicyErrorCollector();
        var sources = new List<(PolicyFile File, byte[]? Bytes)>();
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            var names = Directory.EnumerateFiles(fullPath)
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(IsPolicyFileName)
                .Order(StringComparer.Ordinal)
                .ToList();
            if (names.Count == 0)
            {
                errors.Add(new SourceLocation(path, 1, 1), "the folder holds no policy files (*.yaml or *.yml)");
            }

            foreach (var name in names)
            {
                var file = new PolicyFile(Path.Combine(path, name), Path.Combine(fullPath, name), fullPath, errors);
                sources.Add((file, Read(file)));
            }
        }
        else if (File.Exists(fullPath))
        {
            var file = new PolicyFile(path, fullPath, Path.GetDirectoryName(fullPath) ?? fullPath, errors);
            sources.Add((file, Read(file)));
        }
        else
        {
            errors.Add(new SourceLocation(path, 1, 1), $"no policy file or folder here (looked for {fullPath})");
        }

        return Load(sources, errors);
    }

    /// <summary>
    /// Loads one policy document from text, as if read from <paramref name="fileName"/> (used in
    /// messages) with relative paths resolved against <paramref name="baseDirectory"/>.
    /// </summary>
    public static PolicyLoadResult LoadFromText(string yaml, string fileName, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        var errors = new PolicyErrorCollector();
        var directory = Path.GetFullPath(baseDirectory);
        var file = new PolicyFile(fileName, Path.Combine(directory, Path.GetFileName(fileName)), directory, errors);
        return Load([(file, StrictUtf8.GetBytes(yaml))], errors);
    }

    private static bool IsPolicyFileName(string name) =>
        // Hidden files are skipped: editors leave lock and backup files such as .#gateway.yaml next to the real one.
        !name.StartsWith('.')
        && (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase));

    private static byte[]? Read(PolicyFile file)
    {
        try
        {
            return File.ReadAllBytes(file.FullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.Errors.Add(file.Start, $"cannot read the file: {e.Message}");
            return null;
        }
    }

    private static PolicyLoadResult Load(List<(PolicyFile File, byte[]? Bytes)> sources, PolicyErrorCollector errors)
    {
        var single = new Dictionary<string, PolicySection>(StringComparer.Ordinal);
        var merged = new Dictionary<string, List<PolicySection>>(StringComparer.Ordinal);
        foreach (var (file, bytes) in sources)
        {
            var root = bytes is null ? null : Parse(file, bytes);
            if (bytes is null)
            {
                file.ParseFailed = true;
            }

            if (root is null)
            {
                continue;
            }

            foreach (var (keyNode, value) in root.Children)
            {
                AddSection(file, keyNode, value, single, merged);
            }
        }

        if (sources.Count == 0)
        {
            return new PolicyLoadResult(null, errors.ToSortedList());
        }

        var complete = sources.TrueForAll(s => !s.File.ParseFailed);
        var policy = new PolicyBinder(single, merged, sources[0].File, complete).Bind();
        if (policy is null || errors.Count > 0)
        {
            return new PolicyLoadResult(null, errors.ToSortedList());
        }

        var files = sources.OrderBy(s => s.File.FullPath, StringComparer.Ordinal).ToList();
        return new PolicyLoadResult(
            policy with
            {
                Sha256 = Hash(files.Select(s => s.Bytes!)),
                SourceFiles = [.. files.Select(s => s.File.FullPath)],
            },
            []);
    }

    private static void AddSection(
        PolicyFile file,
        YamlNode keyNode,
        YamlNode value,
        Dictionary<string, PolicySection> single,
        Dictionary<string, List<PolicySection>> merged)
    {
        var name = (keyNode as YamlScalarNode)?.Value ?? "";
        if (keyNode is not YamlScalarNode key || !PolicyNames.AllSections.Contains(name, StringComparer.Ordinal))
        {
            var hint = DidYouMean.Suggest(name, PolicyNames.AllSections) is { } suggestion
                ? $" (did you mean '{suggestion}'?)"
                : $" (expected {string.Join(", ", PolicyNames.AllSections)})";
            file.Error(keyNode, $"unknown section '{name}'{hint}");
            return;
        }

        var section = new PolicySection(file, key, value);
        if (PolicyNames.MergedSections.Contains(name, StringComparer.Ordinal))
        {
            if (!merged.TryGetValue(name, out var list))
            {
                merged[name] = list = [];
            }

            list.Add(section);
        }
        else if (single.TryGetValue(name, out var first))
        {
            file.Error(key, $"section '{name}' is already defined at {first.File.At(first.Key)}; only {string.Join(", ", PolicyNames.MergedSections)} may be split across files");
        }
        else
        {
            single.Add(name, section);
        }
    }

    /// <summary>The document's top-level mapping; null (with the error reported) when it cannot be read.</summary>
    private static YamlMappingNode? Parse(PolicyFile file, byte[] bytes)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            file.ParseFailed = true;
            file.Errors.Add(file.Start, "the file is not valid UTF-8 text");
            return null;
        }

        // YamlDotNet would read a byte-order mark as content.
        text = FlowTemplateQuoter.Quote(text.TrimStart('\uFEFF'));
        var parser = new TrackingParser(new Parser(new StringReader(text)));
        var stream = new YamlStream();
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            file.ParseFailed = true;
            ReportSyntaxError(file, text, e);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The scanner has a few failure paths without a position (an unclosed [ at the end of
            // the file); the last good event is the best pointer, and a reload must never crash on it.
            file.ParseFailed = true;
            file.Error(parser.LastGoodEnd, "YAML syntax error after this point (is a bracket, brace or quote left open?)");
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            file.Error(stream.Documents[1].RootNode, "a policy file holds one YAML document; move the part after '---' into a file of its own in the same folder");
        }

        var root = stream.Documents[0].RootNode;
        if (root is YamlMappingNode mapping)
        {
            return mapping;
        }

        if (!YamlValues.IsNull(root))
        {
            // Counts as unreadable: "missing section" errors would only restate this one.
            file.ParseFailed = true;
            file.Error(root, $"the top level of a policy file must be a mapping of sections (gateway, issuers, tiers, upstreams, routes, ...), found {YamlValues.Describe(root)}");
        }

        return null;
    }

    private static void ReportSyntaxError(PolicyFile file, string text, YamlException e)
    {
        const string DuplicateKey = "Duplicate key ";
        if (e.Message.StartsWith(DuplicateKey, StringComparison.Ordinal))
        {
            file.Error(e.Start, $"duplicate key '{e.Message[DuplicateKey.Length..]}': a key may appear only once in a mapping");
            return;
        }

        var message = e.Message.Length > 0 ? char.ToLowerInvariant(e.Message[0]) + e.Message[1..] : "unreadable YAML";
        if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstTabIndent(text) is { } line)
        {
            // YamlDotNet points at the enclosing mapping; the user needs the line with the tab.
            file.Errors.Add(new SourceLocation(file.DisplayPath, line, 1), "YAML syntax error: this line is indented with a tab; YAML indentation must use spaces");
            return;
        }

        // The classic trap: in YAML a plain value inside { } or [ ] may not contain { } [ ] or ',',
        // so `match: { path: /a/{id} }` does not parse. Say so, since the parser's words do not.
        var hint = e.Message.Contains("flow", StringComparison.OrdinalIgnoreCase)
            ? " (inside { } or [ ], a value containing {, }, [, ] or ',' must be quoted, such as path: \"/crm/customers/{customerId}\")"
            : IndentationHint(e.Message, e.Start.Line);
        file.Error(e.Start, $"YAML syntax error: {message.TrimEnd('.')}{hint}");
    }

    /// <summary>
    /// YamlDotNet's words for a misindented line name the parser's state, not the fix. These are the
    /// three ways a hand-edited policy gets indentation wrong, each with what to do.
    /// </summary>
    private static string IndentationHint(string message, long line)
    {
        if (message.Contains("did not find expected key", StringComparison.Ordinal))
        {
            return $" (check the indentation of line {line} and the line above it: the keys of one section start in the same column, and a key inside another is indented further, with spaces)";
        }

        if (message.Contains("found invalid mapping", StringComparison.Ordinal) || message.Contains("mapping values are not allowed", StringComparison.Ordinal))
        {
            return $" (line {line} is indented further than the key above it, so it reads as part of that key's value: indent it like the keys beside it, or, if it belongs under the key above, leave that key's value empty)";
        }

        if (message.Contains("did not find expected '-' indicator", StringComparison.Ordinal))
        {
            return $" (line {line} is inside a list but lines up with no item: in a list every item starts with '- ' in the same column, and an item's other keys line up with the first key after its '- ')";
        }

        return "";
    }

    private static int? FirstTabIndent(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].AsSpan()[..^lines[i].AsSpan().TrimStart(" \t").Length];
            if (indent.Contains('\t'))
            {
                return i + 1;
            }
        }

        return null;
    }

    private static string Hash(IEnumerable<byte[]> contents)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var bytes in contents)
        {
            hash.AppendData(bytes);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
