using System.Collections.Frozen;
using Gateway.Tokens;

namespace Gateway.Policy;

/// <summary>
/// Everything one policy load produces for the hot path: the policy, its compiled routes and
/// the token validator for its issuers. Swapped whole on reload, never mutated.
/// </summary>
public sealed class PolicySnapshot
{
    public PolicySnapshot(GatewayPolicy policy, ITokenValidator tokens)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tokens);
        Policy = policy;
        Tokens = tokens;
        Routes = policy.Routes
            .Select(r => new CompiledRoute(r, policy.Tiers[r.Tier], policy.Gateway, policy.Sha256))
            .ToFrozenDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (var route in Routes.Values)
        {
            route.Snapshot = this;
        }
    }

    public GatewayPolicy Policy { get; }
    public ITokenValidator Tokens { get; }
    public FrozenDictionary<string, CompiledRoute> Routes { get; }
    public string Sha256 => Policy.Sha256;
}
