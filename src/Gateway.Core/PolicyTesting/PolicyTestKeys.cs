using System.Text;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.PolicyTesting;

/// <summary>
/// Signing keys made up for one test run, one per algorithm the policy's issuers accept. Tokens written
/// as claims in a cases file are signed with them, and the run's validator trusts them besides the
/// issuers' real keys, so a case exercises the real validator (audience, lifetime, claims) without a
/// private key of the real issuer. The keys live only in this process: nothing signed here is valid elsewhere.
/// </summary>
internal sealed class PolicyTestKeys : ISigningKeyResolver, IDisposable
{
    private const string KeyIdPrefix = "gateway-test-";

    // RSA key generation costs far more than the others; it is used only when an issuer accepts nothing else.
    private static readonly string[] Fastest = ["EdDSA", "ES256", "PS256", "RS256"];

    private readonly Dictionary<string, SigningKey> _byAlgorithm = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IssuerKey> _publicByKid = new(StringComparer.Ordinal);
    private readonly ISigningKeyResolver? _real;

    /// <param name="policy">Whose issuers' algorithms to make keys for.</param>
    /// <param name="real">The issuers' real keys, for tokens given as files; null when none can be loaded.</param>
    public PolicyTestKeys(GatewayPolicy policy, ISigningKeyResolver? real)
    {
        _real = real;

        // A random kid per run: no token signed in one run is accepted by another.
        var run = TokenMinter.NewJti()[..8];
        foreach (var algorithm in policy.Issuers.Select(PreferredAlgorithm).Append("ES256").Distinct(StringComparer.Ordinal))
        {
            var key = KeyGenerator.Create(algorithm, $"{KeyIdPrefix}{algorithm}-{run}");
            _byAlgorithm[algorithm] = key;
            foreach (var publicKey in IssuerKeySet.Parse(Encoding.UTF8.GetBytes(key.ToPublicJwks()), out _).Keys)
            {
                _publicByKid[publicKey.KeyId] = publicKey;
            }
        }
    }

    /// <summary>The key to sign a token of <paramref name="issuer"/> with: one of the algorithms it accepts, the fastest first.</summary>
    public SigningKey For(IssuerSettings? issuer) => _byAlgorithm[issuer is null ? "ES256" : PreferredAlgorithm(issuer)];

    public ValueTask<KeyLookup> FindKeyAsync(string issuer, string keyId, CancellationToken cancellationToken)
    {
        if (_publicByKid.TryGetValue(keyId, out var key))
        {
            return ValueTask.FromResult(KeyLookup.Found(key));
        }

        return _real?.FindKeyAsync(issuer, keyId, cancellationToken) ?? ValueTask.FromResult(KeyLookup.Unknown);
    }

    public void Dispose()
    {
        foreach (var key in _byAlgorithm.Values)
        {
            key.Dispose();
        }
    }

    private static string PreferredAlgorithm(IssuerSettings issuer) =>
        Fastest.FirstOrDefault(a => issuer.Algorithms.Contains(a, StringComparer.Ordinal)) ?? "ES256";
}
