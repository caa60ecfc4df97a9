using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private const string SignalsWhere = "in section 'signals'";

    /// <summary>
    /// The optional <c>signals</c> section: <c>transmitters</c> (each an <c>issuer</c> that is also under <c>issuers</c>,
    /// whose keys sign its SETs, and the <c>audience</c> its SETs name) and <c>max_age</c>.
    /// </summary>
    private SignalSettings? BindSignals(IReadOnlyList<IssuerSettings> issuers)
    {
        var section = OpenSection("signals", ["transmitters", "max_age"]);
        if (section is null)
        {
            return null;
        }

        var errorsBefore = _errors.Count;
        var maxAge = section.Duration("max_age");
        var list = section.Value("transmitters", required: true);
        var transmitters = new List<SignalTransmitter>();
        if (list is not null and not YamlSequenceNode)
        {
            section.File.Error(list, $"'transmitters' {SignalsWhere} must be a list such as - issuer: https://idp.example, found {YamlValues.Describe(list)}");
        }
        else if (list is YamlSequenceNode items)
        {
            var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
            var index = 0;
            foreach (var item in items)
            {
                var label = MappingReader.Peek(item, "issuer") is { } peeked ? $"in signals transmitter '{peeked}'" : $"in signals.transmitters[{index}]";
                index++;
                var reader = MappingReader.Open(section.File, item, label, ["issuer", "audience"]);
                var issuerNode = reader?.Scalar("issuer", required: true);
                var audienceNode = reader?.Scalar("audience", required: true);
                if (reader is null || issuerNode is null)
                {
                    continue;
                }

                var issuer = issuerNode.Value ?? "";
                if (seen.TryGetValue(issuer, out var first))
                {
                    section.File.Error(issuerNode, $"transmitter '{issuer}' {SignalsWhere} is already listed at {first}; list each transmitter once");
                    continue;
                }

                seen.Add(issuer, section.File.At(issuerNode));
                if (_complete && !issuers.Any(i => string.Equals(i.Issuer, issuer, StringComparison.Ordinal)))
                {
                    section.File.Error(issuerNode, $"transmitter '{issuer}' {SignalsWhere} is not configured under 'issuers'{KnownNames(issuer, [.. issuers.Select(i => i.Issuer)], "issuers")}; "
                        + "its security event tokens are verified with that issuer's keys and algorithms, so add it there");
                }

                if (audienceNode is null)
                {
                    continue;
                }

                if (string.IsNullOrWhiteSpace(audienceNode.Value))
                {
                    section.File.Error(audienceNode, $"'audience' {label} must not be empty: it is the 'aud' every security event token must carry");
                    continue;
                }

                transmitters.Add(new SignalTransmitter(issuer, audienceNode.Value));
            }

            if (items.Children.Count == 0)
            {
                section.File.Error(items, $"'transmitters' {SignalsWhere} is empty; list at least one, or remove the section");
            }
        }

        if (_errors.Count > errorsBefore)
        {
            return null;
        }

        var settings = new SignalSettings { Transmitters = transmitters };
        return maxAge is { } age ? settings with { MaxAge = age } : settings;
    }
}
