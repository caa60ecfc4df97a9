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
    public const string Rs256 = "RS256";
    public const string Ps256 = "PS256";

    /// <summary>Every algorithm the gateway can verify, in the order docs list them.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Es256, EdDsa, Rs256, Ps256];

    /// <summary>Case-sensitive, as JWA names are (<c>es256</c> is not ES256).</summary>
    public static bool IsSupported(string? algorithm) =>
        algorithm is Es256 or EdDsa or Rs256 or Ps256;

    internal static KeyFamily FamilyOf(string algorithm) => algorithm switch
    {
        Es256 => KeyFamily.EcP256,
        EdDsa => KeyFamily.Ed25519,
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

    /// <summary><c>kty: OKP</c>, <c>crv: Ed25519</c>: EdDSA.</summary>
    Ed25519,
}
