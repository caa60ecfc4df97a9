using System.Collections.Frozen;
using Gateway.Tokens;

namespace Gateway.Policy;

/// <summary>
/// Everything one policy load produces for the hot path: the policy, its compiled routes and
/// the token validator for its issuers. Swapped whole on reload, never mutated.
/// </summary>
public sealed class PolicySnapshot
{
    /// <param name="policy">The loaded policy.</param>
    /// <param name="tokens">Its token validator.</param>
    /// <param name="credentials">Upstream credentials by upstream name (<see cref="Upstreams.UpstreamCredentials.Bind"/>); null where nothing is forwarded (<c>gateway explain</c>).</param>
    public PolicySnapshot(GatewayPolicy policy, ITokenValidator tokens, IReadOnlyDictionary<string, Upstreams.UpstreamCredential>? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tokens);
        Policy = policy;
        Tokens = tokens;
        Routes = policy.Routes
            .Select(r => new CompiledRoute(r, policy.TierOf(r), policy.Gateway, policy.Sha256))
            .ToFrozenDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (var route in Routes.Values)
        {
            route.Snapshot = this;
            route.Credential = credentials?.GetValueOrDefault(route.Route.Upstream);
            if (route.Route.Mcp is not null)
            {
                route.Mcp = new CompiledMcpRoute(route, policy);
                foreach (var target in route.Mcp.Targets)
                {
                    target.Snapshot = this;
                    target.Credential = route.Credential;
                }
            }
        }
    }

    public GatewayPolicy Policy { get; }
    public ITokenValidator Tokens { get; }

    /// <summary>The issuers' keys the validator uses, for other JWTs those issuers sign (security event tokens); null in tools that validate nothing else.</summary>
    public ISigningKeyResolver? Keys { get; init; }
    public FrozenDictionary<string, CompiledRoute> Routes { get; }
    public string Sha256 => Policy.Sha256;
}
