using System.Text;
using System.Text.Json;
using Gateway.Tokens;

namespace Gateway.Reporting;

/// <summary>
/// The grants of a token (its <c>agent_capability</c> entries, from the audit event's <c>token.grants</c>) as
/// (action pattern, resource pattern) pairs: an entry grants each of its actions on each of its resources.
/// Matched with the gateway's own pattern code, so "used" means what the gateway means by "in scope".
/// </summary>
internal sealed class GrantSet
{
    private GrantSet(string raw, IReadOnlyList<GrantPair> pairs)
    {
        Raw = raw;
        Pairs = pairs;
    }

    /// <summary>The <c>grants</c> JSON as written: two tokens with the same text have the same grants.</summary>
    public string Raw { get; }

    public IReadOnlyList<GrantPair> Pairs { get; }

    public static GrantSet Parse(ReadOnlySpan<byte> json)
    {
        var pairs = new List<GrantPair>();
        var seen = new HashSet<(string, string)>();
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                var actions = Strings(entry, "actions");
                var resources = Strings(entry, "resources");
                foreach (var action in actions)
                {
                    foreach (var resource in resources)
                    {
                        if (seen.Add((action, resource)) && ActionPattern.TryParse(action, out var actionPattern) && ResourcePattern.TryParse(resource, out var resourcePattern))
                        {
                            pairs.Add(new GrantPair(actionPattern, resourcePattern));
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // A grants member the gateway did not write: counted as no grants rather than failing the report.
        }

        return new GrantSet(Encoding.UTF8.GetString(json), pairs);
    }

    private static List<string> Strings(JsonElement entry, string name)
    {
        var values = new List<string>();
        if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty(name, out var items) && items.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in items.EnumerateArray())
            {
                if (item.GetString() is { } value)
                {
                    values.Add(value);
                }
            }
        }

        return values;
    }
}

internal sealed record GrantPair(ActionPattern Action, ResourcePattern Resource)
{
    public bool Covers(string action, string resource) => Action.Matches(action) && Resource.Matches(resource);
}

/// <summary>Parses each distinct <c>grants</c> text once: a log holds millions of events and a handful of distinct grant sets.</summary>
internal sealed class GrantSetCache
{
    private readonly Dictionary<int, List<(byte[] Json, GrantSet Set)>> _byHash = [];

    public GrantSet Get(ReadOnlySpan<byte> json)
    {
        var hash = new HashCode();
        hash.AddBytes(json);
        var key = hash.ToHashCode();
        if (!_byHash.TryGetValue(key, out var bucket))
        {
            bucket = [];
            _byHash[key] = bucket;
        }

        foreach (var (bytes, set) in bucket)
        {
            if (json.SequenceEqual(bytes))
            {
                return set;
            }
        }

        var parsed = GrantSet.Parse(json);
        bucket.Add((json.ToArray(), parsed));
        return parsed;
    }
}
