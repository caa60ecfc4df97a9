using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private static readonly string[] ApprovalKeys =
        ["ttl", "approvers", "bind", "groups", "redact", "preview_chars", "max_body_bytes", "max_open", "public_url"];

    // Approver names written in tiers, checked once the groups of the approvals section are known.
    private readonly List<(PolicyFile File, YamlScalarNode Node, string Tier)> _tierApprovers = [];

    // Tiers that set self_approval: false, checked against their effective approvers.
    private readonly List<(PolicyFile File, YamlScalarNode Node, TierSettings Tier)> _noSelfApproval = [];

    /// <summary>The approval keys of a tier: <c>approvers</c>, <c>self_approval</c>, <c>approver_step_up</c>, <c>irreversible</c>.</summary>
    private TierSettings BindTierApprovalRules(MappingReader reader, TierSettings tier)
    {
        List<string>? approvers = null;
        if (reader.ScalarList("approvers", required: reader.Has("approvers")) is { } items)
        {
            approvers = [];
            foreach (var item in items)
            {
                approvers.Add(item.Value ?? "");
                _tierApprovers.Add((reader.File, item, tier.Name));
            }
        }

        tier = tier with
        {
            Approvers = approvers,
            SelfApproval = reader.Bool("self_approval") ?? true,
            ApproverStepUp = BindStepUp(reader, "approver_step_up"),
            Irreversible = reader.Bool("irreversible") ?? false,
        };
        if (!tier.SelfApproval && reader.Scalar("self_approval") is { } node)
        {
            _noSelfApproval.Add((reader.File, node, tier));
        }

        return tier;
    }

    private ApprovalSettings BindApprovals()
    {
        var defaults = new ApprovalSettings();
        var approvals = OpenSection("approvals", ApprovalKeys);
        if (approvals is null)
        {
            CheckTierApprovers(defaults);
            return defaults;
        }

        var groups = BindApproverGroups(approvals) ?? defaults.Groups;
        List<string>? approvers = null;
        if (approvals.ScalarList("approvers", required: approvals.Has("approvers")) is { } items)
        {
            approvers = [];
            foreach (var item in items)
            {
                if (CheckApproverName(approvals.File, item, "in section 'approvals'", groups))
                {
                    approvers.Add(item.Value ?? "");
                }
            }
        }

        var settings = new ApprovalSettings
        {
            Ttl = approvals.Duration("ttl") ?? defaults.Ttl,
            Approvers = approvers ?? defaults.Approvers,
            Bind = approvals.Enum("bind", PolicyNames.Bindings) ?? defaults.Bind,
            Groups = groups,
            Redact = approvals.ScalarList("redact")?.Select(r => r.Value ?? "").Where(r => r.Length > 0).ToList() ?? defaults.Redact,
            PreviewChars = approvals.Int("preview_chars", minimum: 0) ?? defaults.PreviewChars,
            MaxBodyBytes = approvals.Int("max_body_bytes", minimum: 1) ?? defaults.MaxBodyBytes,
            MaxOpen = approvals.Int("max_open", minimum: 1) ?? defaults.MaxOpen,
            PublicUrl = BindPublicUrl(approvals),
        };
        CheckTierApprovers(settings);
        return settings;
    }

    /// <summary><c>groups: { finance: [SHA256, ...] }</c>: named sets of admin keys, by digest as in <c>admin.key_sha256</c>.</summary>
    private static Dictionary<string, IReadOnlyList<string>>? BindApproverGroups(MappingReader approvals)
    {
        var node = approvals.Value("groups");
        if (node is null)
        {
            return null;
        }

        var groups = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (node is not YamlMappingNode mapping)
        {
            approvals.File.Error(node, $"'groups' in section 'approvals' must be a mapping of group names to admin key digests, such as finance: [SHA256, ...], found {YamlValues.Describe(node)}");
            return groups;
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            if (!TryReadName(approvals.File, keyNode, "approver group", out var name))
            {
                continue;
            }

            if (PolicyNames.Approvers.Contains(name, StringComparer.Ordinal))
            {
                approvals.File.Error(keyNode, $"approver group '{name}' in section 'approvals' would hide the built-in approver '{name}'; choose another name");
                continue;
            }

            var where = $"in approver group '{name}'";
            var digests = new List<string>();
            if (value is not YamlSequenceNode sequence || sequence.Children.Count == 0)
            {
                approvals.File.Error(value, $"approver group '{name}' must list at least one admin key digest, such as [SHA256, ...]");
            }
            else
            {
                foreach (var item in sequence.Children)
                {
                    var text = (item as YamlScalarNode)?.Value ?? "";
                    if (text.Length == 64 && text.All(char.IsAsciiHexDigit))
                    {
                        digests.Add(text.ToLowerInvariant());
                    }
                    else
                    {
                        // Never echo the value: if it is not a digest, it may be the key itself.
                        approvals.File.Error(item, $"items {where} must be SHA-256 digests (64 hex characters) of admin keys, never the keys themselves: printf %s \"$KEY\" | sha256sum");
                    }
                }
            }

            groups[name] = digests;
        }

        return groups;
    }

    private static Uri? BindPublicUrl(MappingReader approvals)
    {
        if (approvals.Scalar("public_url") is not { } node)
        {
            return null;
        }

        if (Uri.TryCreate(node.Value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment))
        {
            return uri;
        }

        approvals.File.Error(node, $"'public_url' in section 'approvals' must be an absolute http or https URL without query, such as https://gateway-admin.example, found '{node.Value}'");
        return null;
    }

    private void CheckTierApprovers(ApprovalSettings approvals)
    {
        foreach (var (file, node, tier) in _tierApprovers)
        {
            CheckApproverName(file, node, $"in tier '{tier}'", approvals.Groups);
        }

        // Only the subject could approve, and the subject may not: nobody could ever approve.
        foreach (var (file, node, tier) in _noSelfApproval)
        {
            var effective = tier.Approvers ?? approvals.Approvers;
            if (effective.Count > 0 && effective.All(a => a == "subject"))
            {
                file.Error(node, $"'self_approval: false' in tier '{tier.Name}' leaves no one who may approve: its approvers are only [subject]; add admin or a group");
            }
        }
    }

    private static bool CheckApproverName(PolicyFile file, YamlScalarNode node, string where, IReadOnlyDictionary<string, IReadOnlyList<string>> groups)
    {
        var name = node.Value ?? "";
        if (PolicyNames.Approvers.Contains(name, StringComparer.Ordinal) || groups.ContainsKey(name))
        {
            return true;
        }

        var known = PolicyNames.Approvers.Concat(groups.Keys).ToList();
        var expected = groups.Count == 0
            ? "expected admin or subject"
            : $"expected admin, subject or a group of 'approvals.groups': {string.Join(", ", groups.Keys)}";
        file.Error(node, $"unknown approver '{name}' {where} ({expected}){DidYouMean.Hint(name, known)}");
        return false;
    }
}
