using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private static readonly string[] TierKeys =
        ["risk", "min_intent", "approval", "approvers", "self_approval", "approver_step_up", "irreversible"];

    /// <summary>
    /// Tiers are a mapping from name to settings. Their order is their rank (0 = first written):
    /// "allow_below_tier" and similar comparisons rely on it, so a folder's tiers are ranked in
    /// file-name order, then in written order within each file.
    /// </summary>
    private void BindTiers()
    {
        foreach (var (file, entries) in MergedEntries("tiers", "a mapping of tier names such as low: { risk: 1 }"))
        {
            foreach (var (keyNode, value) in entries.Children)
            {
                if (!TryReadName(file, keyNode, "tier", out var name))
                {
                    continue;
                }

                var location = file.At(keyNode);
                if (_tiers.TryGetValue(name, out var existing))
                {
                    file.Error(keyNode, $"tier '{name}' is already defined at {existing.Location}; each tier is defined once");
                    continue;
                }

                var reader = MappingReader.Open(file, value, $"in tier '{name}'", TierKeys);
                var tier = new TierSettings
                {
                    Name = name,
                    Rank = _tiers.Count,
                    Risk = reader?.Int("risk", minimum: 0, required: true) ?? 0,
                    MinIntent = reader?.Enum("min_intent", PolicyNames.Intents) ?? IntentMethod.Policy,
                    Approval = reader?.Enum("approval", PolicyNames.Approvals) ?? ApprovalRequirement.None,
                };
                if (reader is not null)
                {
                    tier = BindTierApprovalRules(reader, tier);
                }

                // Registered even when its body had errors, so routes naming it are not reported too.
                _tiers.Add(name, (tier, location));
            }
        }
    }

    private void BindUpstreams()
    {
        foreach (var (file, entries) in MergedEntries("upstreams", "a mapping of upstream names such as crm: { destinations: [http://127.0.0.1:5101] }"))
        {
            foreach (var (keyNode, value) in entries.Children)
            {
                if (!TryReadName(file, keyNode, "upstream", out var name))
                {
                    continue;
                }

                if (_upstreams.TryGetValue(name, out var existing))
                {
                    file.Error(keyNode, $"upstream '{name}' is already defined at {existing.Location}; each upstream is defined once");
                    continue;
                }

                var where = $"in upstream '{name}'";
                var reader = MappingReader.Open(file, value, where, ["destinations", "auth", "tls"]);
                var destinations = new List<Uri>();
                foreach (var item in reader?.ScalarList("destinations", required: true) ?? [])
                {
                    if (Uri.TryCreate(item.Value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                    {
                        destinations.Add(uri);
                    }
                    else
                    {
                        file.Error(item, $"destination '{item.Value}' {where} must be an absolute http or https URL such as http://127.0.0.1:5101");
                    }
                }

                if (reader?.Value("auth") is { } auth)
                {
                    // Bound once the delegation section is known: token_exchange signs with its key by default.
                    _pendingAuth.Add((name, file, auth));
                }

                var caFile = reader?.Mapping("tls", $"in 'upstreams.{name}.tls'", ["ca_file"]) is { } tls ? BindCaFile(tls, name, destinations) : null;
                _upstreams.Add(name, (new UpstreamSettings { Name = name, Destinations = destinations, CaFile = caFile }, file.At(keyNode)));
            }
        }
    }

    /// <summary>The mapping-shaped occurrences of a merged section, one per file, in file order.</summary>
    private IEnumerable<(PolicyFile File, YamlMappingNode Entries)> MergedEntries(string section, string expected)
    {
        if (!_merged.TryGetValue(section, out var sections))
        {
            yield break;
        }

        foreach (var occurrence in sections)
        {
            if (occurrence.Value is YamlMappingNode mapping)
            {
                yield return (occurrence.File, mapping);
            }
            else if (!YamlValues.IsNull(occurrence.Value))
            {
                occurrence.File.Error(occurrence.Value, $"section '{section}' must be {expected}, found {YamlValues.Describe(occurrence.Value)}");
            }
        }
    }

    /// <summary>Names of tiers, upstreams and routes show up in URLs, metrics and audit lines, so they are kept plain.</summary>
    private static bool TryReadName(PolicyFile file, YamlNode node, string what, out string name)
    {
        name = (node as YamlScalarNode)?.Value ?? "";
        if (IsPlainName(name))
        {
            return true;
        }

        file.Error(node, $"{what} name {YamlValues.Describe(node)} must be letters, digits, '.', '_' or '-'");
        return false;
    }

    private static bool IsPlainName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>
    /// <c>tls: { ca_file }</c>. The bundle is read here, so a file that holds no certificate is a load error with its
    /// line rather than a failed handshake at the first call; CA certificates are public, unlike the secret files.
    /// </summary>
    private static string? BindCaFile(MappingReader tls, string upstream, List<Uri> destinations)
    {
        var node = tls.Scalar("ca_file", required: true);
        if (node?.Value is not { } value)
        {
            return null;
        }

        if (destinations.FirstOrDefault(d => d.Scheme != Uri.UriSchemeHttps) is { } plain)
        {
            tls.File.Error(node, $"'ca_file' {tls.Where} applies to https destinations, but upstream '{upstream}' lists {plain}");
            return null;
        }

        var path = tls.File.ResolvePath(value);
        if (Upstreams.CaBundle.TryRead(path, out _, out var problem))
        {
            return path;
        }

        tls.File.Error(node, $"'ca_file' {tls.Where}: '{path}' {problem}");
        return null;
    }
}
