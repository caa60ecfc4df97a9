using System.Collections.Frozen;

namespace Gateway.Tokens;

/// <summary>
/// The JWS algorithms the gateway accepts at all. An issuer may allow a subset. <c>none</c> and every
/// HMAC algorithm are refused unconditionally: with a shared secret anyone who can verify can also mint,
/// and an HS* token "signed" with a public key is the classic key-confusion forgery (RFC 8725 section 2.1).
/// </summary>
public static class JwsAlgorithms
{
    public const string Es256 = "ES256";
    public const string EdDsa = "EdDSA";

    /// <summary>
    /// RFC 9864's fully-specified name for EdDSA over Ed25519, which current libraries (the npm <c>dpop</c>
    /// and <c>jose</c> packages among them) write instead of the polymorphic <c>EdDSA</c>. The gateway knows
    /// no other EdDSA curve, so the two names mean the same check here.
    /// </summary>
    public const string Ed25519 = "Ed25519";

    public const string Rs256 = "RS256";
    public const string Ps256 = "PS256";

    /// <summary>Every algorithm the gateway can verify, in the order docs list them.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Es256, EdDsa, Ed25519, Rs256, Ps256];

    /// <summary>Case-sensitive, as JWA names are (<c>es256</c> is not ES256).</summary>
    public static bool IsSupported(string? algorithm) =>
        algorithm is Es256 or EdDsa or Ed25519 or Rs256 or Ps256;

    /// <summary>
    /// True when both names denote the same signature operation. RFC 9864 deprecates the polymorphic
    /// <c>EdDSA</c> for <c>Ed25519</c>; a policy written with either name must accept tokens and proofs
    /// written with the other, or upgrading a client library would lock it out for a spelling. ES256, RS256
    /// and PS256 were fully specified already and have no second name in JOSE (ESP256 is COSE's).
    /// </summary>
    public static bool AreEquivalent(string first, string second) =>
        string.Equals(first, second, StringComparison.Ordinal)
        || (first is EdDsa or Ed25519 && second is EdDsa or Ed25519);

    /// <summary>
    /// An allow-list as written in the policy, with every equivalent name added, in the written order
    /// (for a DPoP <c>algs</c> challenge, which a client reads to pick an algorithm).
    /// </summary>
    public static IReadOnlyList<string> WithEquivalents(IEnumerable<string> algorithms)
    {
        ArgumentNullException.ThrowIfNull(algorithms);
        var expanded = new List<string>();
        foreach (var algorithm in algorithms)
        {
            Add(expanded, algorithm);
            if (algorithm is EdDsa or Ed25519)
            {
                Add(expanded, algorithm is EdDsa ? Ed25519 : EdDsa);
            }
        }

        return expanded;

        static void Add(List<string> list, string algorithm)
        {
            if (!list.Contains(algorithm, StringComparer.Ordinal))
            {
                list.Add(algorithm);
            }
        }
    }

    /// <summary><see cref="WithEquivalents"/> as a set, for the per-request check.</summary>
    public static FrozenSet<string> AllowListOf(IEnumerable<string> algorithms) =>
        WithEquivalents(algorithms).ToFrozenSet(StringComparer.Ordinal);

    internal static KeyFamily FamilyOf(string algorithm) => algorithm switch
    {
        Es256 => KeyFamily.EcP256,
        EdDsa or Ed25519 => KeyFamily.Ed25519,
        Rs256 or Ps256 => KeyFamily.Rsa,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unsupported JWS algorithm."),
    };
}

/// <summary>The key types the gateway understands; each fits a fixed set of algorithms.</summary>
internal enum KeyFamily
{
    /// <summary><c>kty: EC</c>, <c>crv: P-256</c>: ES256.</summary>
    EcP256,

    /// <summary><c>kty: RSA</c>, at least 2048 bits: RS256 and PS256.</summary>
    Rsa,

    /// <summary><c>kty: OKP</c>, <c>crv: Ed25519</c>: EdDSA, also named Ed25519 (RFC 9864).</summary>
    Ed25519,
}
