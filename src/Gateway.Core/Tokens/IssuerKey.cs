using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tokens;

/// <summary>One public verification key from an issuer's JWKS.</summary>
public sealed class IssuerKey
{
    internal IssuerKey(string keyId, string? algorithm, KeyFamily family, SecurityKey securityKey)
    {
        KeyId = keyId;
        Algorithm = algorithm;
        Family = family;
        SecurityKey = securityKey;
    }

    public string KeyId { get; }

    /// <summary>The JWK's own <c>alg</c>, when it declares one; the key then verifies only that algorithm.</summary>
    public string? Algorithm { get; }

    /// <summary>The IdentityModel key the signature is checked with (its <c>KeyId</c> is <see cref="KeyId"/>).</summary>
    public SecurityKey SecurityKey { get; }

    internal KeyFamily Family { get; }

    /// <summary>
    /// True when a token with header <c>alg</c> = <paramref name="algorithm"/> may be checked with this key.
    /// Checked before any cryptography so that an RSA key is never asked to verify an ES256 token and so on.
    /// </summary>
    public bool CanVerify(string algorithm) =>
        JwsAlgorithms.IsSupported(algorithm)
        && JwsAlgorithms.FamilyOf(algorithm) == Family
        && (Algorithm is null || JwsAlgorithms.AreEquivalent(Algorithm, algorithm));
}
