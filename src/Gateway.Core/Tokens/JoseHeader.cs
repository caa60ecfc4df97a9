using System.Text.Json;

namespace Gateway.Tokens;

/// <summary>
/// The JWS header, read and judged by the gateway itself before any key is looked up or signature checked,
/// so that the algorithm and key-selection rules do not depend on a library's defaults.
/// </summary>
internal sealed class JoseHeader
{
    private JoseHeader(string algorithm, string keyId, string type)
    {
        Algorithm = algorithm;
        KeyId = keyId;
        Type = type;
    }

    public string Algorithm { get; }

    public string KeyId { get; }

    public string Type { get; }

    public static TokenFailure? TryRead(JsonElement header, out JoseHeader? result)
    {
        result = null;
        if (header.ValueKind != JsonValueKind.Object)
        {
            return TokenFailures.HeaderNotObject;
        }

        if (header.TryGetProperty("enc", out _))
        {
            return TokenFailures.Encrypted;
        }

        // alg first: whatever else is wrong, a token asking for none/HS* is named as such.
        if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String)
        {
            return TokenFailures.NoAlgorithm;
        }

        var algorithm = alg.GetString()!;
        if (!JwsAlgorithms.IsSupported(algorithm))
        {
            return algorithm.Equals("none", StringComparison.OrdinalIgnoreCase) ? TokenFailures.AlgorithmNone
                : algorithm.StartsWith("HS", StringComparison.OrdinalIgnoreCase) ? TokenFailures.AlgorithmSymmetric
                : TokenFailures.AlgorithmUnsupported;
        }

        // crit lists extensions the recipient MUST understand (RFC 7515 section 4.1.11); the gateway implements none,
        // so honouring the header means refusing the token.
        if (header.TryGetProperty("crit", out _))
        {
            return TokenFailures.Critical;
        }

        // jku, x5u and jwk let the token name its own verification key (a URL to fetch or an embedded key).
        // Following them would let anyone sign a token with their own key, and a URL is also a server-side
        // request forgery vector. Keys come only from the issuer's configured JWKS, by kid. Refusing (rather
        // than ignoring) makes a misconfigured issuer visible at once.
        foreach (var name in (ReadOnlySpan<string>)["jku", "x5u", "jwk"])
        {
            if (header.TryGetProperty(name, out _))
            {
                return TokenFailures.KeyReferenceHeader(name);
            }
        }

        if (!header.TryGetProperty("kid", out var kid) || kid.ValueKind != JsonValueKind.String || kid.GetString() is not { Length: > 0 } keyId)
        {
            return TokenFailures.NoKeyId;
        }

        if (!header.TryGetProperty("typ", out var typ) || typ.ValueKind != JsonValueKind.String || typ.GetString() is not { Length: > 0 } type)
        {
            return TokenFailures.NoType;
        }

        result = new JoseHeader(algorithm, keyId, type);
        return null;
    }

    /// <summary>
    /// Media types compare case-insensitively, and JWS lets the <c>application/</c> prefix be left out
    /// (RFC 7515 section 4.1.9, RFC 8725 section 3.11), so <c>application/at+jwt</c> equals <c>AT+JWT</c>.
    /// </summary>
    public static string NormalizeType(string type)
    {
        const string Prefix = "application/";
        return type.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? type[Prefix.Length..] : type;
    }
}
