using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

/// <summary>
/// Reads one YAML mapping into typed values, reporting every problem (unknown keys with a
/// suggestion, missing keys, wrong types, bad values) to the file's error list and returning null
/// for a value it could not read, so the caller carries on and the user sees all problems at once.
/// </summary>
internal sealed class MappingReader
{
    private readonly Dictionary<string, YamlNode> _values = new(StringComparer.Ordinal);

    // Keys that an unknown key was already reported as a probable typo of: the "missing required key"
    // error for them would only repeat the same mistake.
    private readonly HashSet<string> _suggested = new(StringComparer.Ordinal);

    private MappingReader(PolicyFile file, YamlNode node, string where)
    {
        File = file;
        Node = node;
        Where = where;
    }

    public PolicyFile File { get; }

    /// <summary>The mapping itself (or the null/invalid node that stood in for it).</summary>
    public YamlNode Node { get; }

    /// <summary>Where this mapping is, for messages: "in route 'crm-get-customer'", "in section 'gateway'".</summary>
    public string Where { get; }

    /// <summary>
    /// Opens <paramref name="node"/> as a mapping with the given keys. A YAML null reads as an empty
    /// mapping; anything else that is not a mapping is reported and gives null. <c>emptyAt</c> is where
    /// to report missing keys of an empty mapping, since a YAML null has no useful position of its own.
    /// </summary>
    public static MappingReader? Open(PolicyFile file, YamlNode node, string where, IReadOnlyCollection<string> knownKeys, YamlNode? emptyAt = null)
    {
        if (YamlValues.IsNull(node))
        {
            return new MappingReader(file, emptyAt ?? node, where);
        }

        var reader = new MappingReader(file, node, where);

        if (node is not YamlMappingNode mapping)
        {
            file.Error(node, $"expected a mapping with keys such as {string.Join(", ", knownKeys.Take(4))} {where}, found {YamlValues.Describe(node)}");
            return null;
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key })
            {
                file.Error(keyNode, $"keys must be plain names {where}, found {YamlValues.Describe(keyNode)}");
                continue;
            }

            if (!knownKeys.Contains(key, StringComparer.Ordinal))
            {
                var suggestion = DidYouMean.Suggest(key, knownKeys);
                if (suggestion is not null)
                {
                    reader._suggested.Add(suggestion);
                }

                var hint = suggestion is null ? $" (expected {string.Join(", ", knownKeys)})" : $" (did you mean '{suggestion}'?)";
                file.Error(keyNode, $"unknown key '{key}' {where}{hint}");
                continue;
            }

            reader._values[key] = value;
        }

        return reader;
    }

    /// <summary>A key's plain value, read before the mapping is opened, to name the mapping in its own messages.</summary>
    public static string? Peek(YamlNode node, string key) =>
        node is YamlMappingNode mapping
            ? mapping.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: var k } && k == key).Value is YamlScalarNode { Value: { Length: > 0 } value }
                ? value
                : null
            : null;

    /// <summary>The value of <paramref name="key"/>, or null when absent or YAML null (then reported if required).</summary>
    public YamlNode? Value(string key, bool required = false)
    {
        if (_values.TryGetValue(key, out var value) && !YamlValues.IsNull(value))
        {
            return value;
        }

        if (required && !_suggested.Contains(key))
        {
            File.Error(value ?? Node, value is null ? $"missing required key '{key}' {Where}" : $"key '{key}' {Where} needs a value");
        }

        return null;
    }

    public bool Has(string key) => Value(key) is not null;

    /// <summary>Opens a nested mapping; null when absent or invalid.</summary>
    public MappingReader? Mapping(string key, string where, IReadOnlyCollection<string> knownKeys, bool required = false) =>
        Value(key, required) is { } node ? Open(File, node, where, knownKeys) : null;

    public YamlScalarNode? Scalar(string key, bool required = false)
    {
        var node = Value(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode scalar)
        {
            return scalar;
        }

        File.Error(node, $"'{key}' {Where} must be a single value, found {YamlValues.Describe(node)}");
        return null;
    }

    public string? String(string key, bool required = false) => Scalar(key, required)?.Value;

    public int? Int(string key, int minimum, bool required = false)
    {
        if (Scalar(key, required) is not { } scalar)
        {
            return null;
        }

        if (!int.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            File.Error(scalar, $"'{key}' {Where} must be a whole number, found '{scalar.Value}'");
            return null;
        }

        if (number < minimum)
        {
            File.Error(scalar, $"'{key}' {Where} must be at least {minimum}, found {number}");
            return null;
        }

        return number;
    }

    /// <summary>A duration in the policy syntax (<see cref="PolicyDuration"/>).</summary>
    public TimeSpan? Duration(string key, bool allowZero = false, bool required = false)
    {
        if (Scalar(key, required) is not { } scalar)
        {
            return null;
        }

        var text = scalar.Value ?? "";
        if (text.StartsWith('-'))
        {
            File.Error(scalar, $"'{key}' {Where} cannot be negative, found '{text}'");
            return null;
        }

        if (!PolicyDuration.TryParse(text, out var duration))
        {
            File.Error(scalar, $"'{key}' {Where} is not a duration: '{text}' ({PolicyDuration.SyntaxHint})");
            return null;
        }

        if (!allowZero && duration == TimeSpan.Zero)
        {
            File.Error(scalar, $"'{key}' {Where} must be longer than zero");
            return null;
        }

        return duration;
    }

    public bool? Bool(string key)
    {
        if (Scalar(key) is not { } scalar)
        {
            return null;
        }

        // YAML 1.2 booleans only: yes/no/on/off were booleans in YAML 1.1 and are the classic source
        // of surprises, so they are refused rather than guessed.
        switch (scalar.Value)
        {
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            default:
                File.Error(scalar, $"'{key}' {Where} must be true or false, found '{scalar.Value}'");
                return null;
        }
    }

    /// <summary>One of a fixed set of words, compared exactly as the documentation writes them.</summary>
    public T? Enum<T>(string key, IReadOnlyDictionary<string, T> names, bool required = false)
        where T : struct
    {
        if (Scalar(key, required) is not { } scalar)
        {
            return null;
        }

        return ReadEnum(File, scalar, $"'{key}' {Where}", names);
    }

    public static T? ReadEnum<T>(PolicyFile file, YamlScalarNode scalar, string what, IReadOnlyDictionary<string, T> names)
        where T : struct
    {
        if (names.TryGetValue(scalar.Value ?? "", out var value))
        {
            return value;
        }

        var words = names.Keys.ToList();
        var expected = words.Count > 1 ? $"{string.Join(", ", words.SkipLast(1))} or {words[^1]}" : words[0];
        file.Error(scalar, $"{what} must be {expected}, found '{scalar.Value}'{DidYouMean.Hint(scalar.Value ?? "", names.Keys)}");
        return null;
    }

    /// <summary>A list of single values; an empty list is reported when <paramref name="required"/>.</summary>
    public IReadOnlyList<YamlScalarNode>? ScalarList(string key, bool required = false)
    {
        var node = Value(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            File.Error(node, $"'{key}' {Where} must be a list such as [a, b], found {YamlValues.Describe(node)}");
            return null;
        }

        var items = new List<YamlScalarNode>(sequence.Children.Count);
        foreach (var item in sequence.Children)
        {
            if (item is YamlScalarNode scalar && !YamlValues.IsNull(scalar))
            {
                items.Add(scalar);
            }
            else
            {
                File.Error(item, $"items of '{key}' {Where} must be single values, found {YamlValues.Describe(item)}");
            }
        }

        if (required && sequence.Children.Count == 0)
        {
            File.Error(node, $"'{key}' {Where} must list at least one value");
        }

        return items;
    }
}
