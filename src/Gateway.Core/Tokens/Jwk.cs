using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Gateway.Tokens;

/// <summary>
/// Reads and writes the JSON Web Keys the gateway uses (RFC 7517, RFC 7518 section 6, RFC 8037 for OKP).
/// Hand-written rather than IdentityModel's <c>JsonWebKey</c> because that type has no Ed25519 support and
/// is lenient where a key store should not be (P-384 keys, 1024-bit RSA, padded base64).
/// </summary>
internal static class Jwk
{
    /// <summary>RSA keys shorter than this are refused (NIST SP 800-57; RFC 7518 section 3.3 requires 2048).</summary>
    public const int MinRsaBits = 2048;

    private const int P256FieldBytes = 32;
    private const int Ed25519KeyBytes = 32;

    private static readonly SearchValues<char> Base64UrlAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    public static bool IsBase64Url(ReadOnlySpan<char> text) => !text.IsEmpty && !text.ContainsAnyExcept(Base64UrlAlphabet);

    /// <summary>Reads a public key; private members (<c>d</c>...) are ignored and reported in <paramref name="hadPrivate"/>.</summary>
    public static IssuerKey ReadPublic(JsonElement jwk, out bool hadPrivate)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a key is not a JSON object");
        }

        var kid = RequiredString(jwk, "kid");
        var algorithm = ReadAlgorithm(jwk);
        var use = OptionalString(jwk, "use");
        if (use is not null && use != "sig")
        {
            throw new FormatException($"key '{kid}' has \"use\" other than \"sig\"");
        }

        if (jwk.TryGetProperty("key_ops", out var ops) && !ContainsString(ops, "verify"))
        {
            throw new FormatException($"key '{kid}' has \"key_ops\" without \"verify\"");
        }

        hadPrivate = jwk.TryGetProperty("d", out _);
        var kty = RequiredString(jwk, "kty");
        var (family, securityKey) = kty switch
        {
            "EC" => (KeyFamily.EcP256, (SecurityKey)CreateEcdsaKey(jwk, kid, includePrivate: false)),
            "RSA" => (KeyFamily.Rsa, CreateRsaKey(jwk, kid, includePrivate: false)),
            "OKP" => (KeyFamily.Ed25519, CreateEd25519Key(jwk, kid, includePrivate: false)),
            _ => throw new FormatException($"key '{kid}' has unsupported \"kty\" (EC, RSA and OKP are supported; symmetric keys never are)"),
        };

        if (algorithm is not null && JwsAlgorithms.FamilyOf(algorithm) != family)
        {
            throw new FormatException($"key '{kid}' declares an \"alg\" that does not fit its \"kty\"");
        }

        return new IssuerKey(kid, algorithm, family, securityKey);
    }

    /// <summary>
    /// Reads a public key embedded in a JWS header (a DPoP proof's <c>jwk</c>): no <c>kid</c>, and the caller has
    /// already refused private members. <paramref name="label"/> names the key in messages.
    /// </summary>
    public static (KeyFamily Family, SecurityKey Key) ReadEmbeddedPublic(JsonElement jwk, string label)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the key is not a JSON object");
        }

        return RequiredString(jwk, "kty") switch
        {
            "EC" => (KeyFamily.EcP256, CreateEcdsaKey(jwk, label, includePrivate: false)),
            "RSA" => (KeyFamily.Rsa, CreateRsaKey(jwk, label, includePrivate: false)),
            "OKP" => (KeyFamily.Ed25519, CreateEd25519Key(jwk, label, includePrivate: false)),
            _ => throw new FormatException($"key '{label}' has unsupported \"kty\" (EC, RSA and OKP are supported; symmetric keys never are)"),
        };
    }

    /// <summary>Reads a private signing key. Its <c>alg</c> defaults from the key type (RSA: RS256).</summary>
    public static SigningKey ReadPrivate(JsonElement jwk)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the JWK is not a JSON object");
        }

        // The other file keys generate writes, and the one an issuer publishes: an easy one to pass by mistake.
        if (jwk.TryGetProperty("keys", out var keys) && keys.ValueKind == JsonValueKind.Array)
        {
            throw new FormatException("it is a public key set (JWKS, {\"keys\": [...]}), which can only verify tokens; sign with the private JWK file instead (keys generate writes KID-private.jwk beside KID.jwks.json)");
        }

        var kid = RequiredString(jwk, "kid");
        var algorithm = ReadAlgorithm(jwk);
        if (!jwk.TryGetProperty("d", out _))
        {
            throw new FormatException($"key '{kid}' has no private part (\"d\"): this is a public key");
        }

        var kty = RequiredString(jwk, "kty");
        SecurityKey securityKey;
        KeyFamily family;
        switch (kty)
        {
            case "EC":
                family = KeyFamily.EcP256;
                securityKey = CreateEcdsaKey(jwk, kid, includePrivate: true);
                break;
            case "RSA":
                family = KeyFamily.Rsa;
                securityKey = CreateRsaKey(jwk, kid, includePrivate: true);
                break;
            case "OKP":
                family = KeyFamily.Ed25519;
                securityKey = CreateEd25519Key(jwk, kid, includePrivate: true);
                break;
            default:
                throw new FormatException($"key '{kid}' has unsupported \"kty\" (EC, RSA and OKP are supported)");
        }

        algorithm ??= family switch
        {
            KeyFamily.EcP256 => JwsAlgorithms.Es256,
            KeyFamily.Ed25519 => JwsAlgorithms.EdDsa,
            _ => JwsAlgorithms.Rs256,
        };

        if (JwsAlgorithms.FamilyOf(algorithm) != family)
        {
            DisposeKey(securityKey);
            throw new FormatException($"key '{kid}' declares an \"alg\" that does not fit its \"kty\"");
        }

        return new SigningKey(kid, algorithm, family, securityKey);
    }

    public static void WritePublic(Utf8JsonWriter writer, SigningKey key) => Write(writer, key, includePrivate: false);

    public static void WritePrivate(Utf8JsonWriter writer, SigningKey key) => Write(writer, key, includePrivate: true);

    public static void DisposeKey(SecurityKey key)
    {
        switch (key)
        {
            case ECDsaSecurityKey ec:
                ec.ECDsa.Dispose();
                break;
            case RsaSecurityKey { Rsa: { } rsa }:
                rsa.Dispose();
                break;
            case Ed25519SecurityKey ed:
                ed.Dispose();
                break;
        }
    }

    private static void Write(Utf8JsonWriter writer, SigningKey key, bool includePrivate)
    {
        writer.WriteStartObject();
        switch (key.SecurityKey)
        {
            case ECDsaSecurityKey ec:
                var ecParameters = ec.ECDsa.ExportParameters(includePrivate);
                try
                {
                    writer.WriteString("kty", "EC");
                    writer.WriteString("crv", "P-256");
                    WriteBase64Url(writer, "x", ecParameters.Q.X);
                    WriteBase64Url(writer, "y", ecParameters.Q.Y);
                    if (includePrivate)
                    {
                        WriteBase64Url(writer, "d", ecParameters.D);
                    }
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(ecParameters.D);
                }

                break;
            case RsaSecurityKey { Rsa: { } rsa }:
                var rsaParameters = rsa.ExportParameters(includePrivate);
                try
                {
                    writer.WriteString("kty", "RSA");
                    WriteBase64Url(writer, "n", TrimLeadingZeros(rsaParameters.Modulus));
                    WriteBase64Url(writer, "e", TrimLeadingZeros(rsaParameters.Exponent));
                    if (includePrivate)
                    {
                        WriteBase64Url(writer, "d", TrimLeadingZeros(rsaParameters.D));
                        WriteBase64Url(writer, "p", TrimLeadingZeros(rsaParameters.P));
                        WriteBase64Url(writer, "q", TrimLeadingZeros(rsaParameters.Q));
                        WriteBase64Url(writer, "dp", TrimLeadingZeros(rsaParameters.DP));
                        WriteBase64Url(writer, "dq", TrimLeadingZeros(rsaParameters.DQ));
                        WriteBase64Url(writer, "qi", TrimLeadingZeros(rsaParameters.InverseQ));
                    }
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(rsaParameters.D);
                    CryptographicOperations.ZeroMemory(rsaParameters.P);
                    CryptographicOperations.ZeroMemory(rsaParameters.Q);
                    CryptographicOperations.ZeroMemory(rsaParameters.DP);
                    CryptographicOperations.ZeroMemory(rsaParameters.DQ);
                    CryptographicOperations.ZeroMemory(rsaParameters.InverseQ);
                }

                break;
            case Ed25519SecurityKey ed:
                writer.WriteString("kty", "OKP");
                writer.WriteString("crv", "Ed25519");
                WriteBase64Url(writer, "x", ed.PublicKey.Export(KeyBlobFormat.RawPublicKey));
                if (includePrivate)
                {
                    var seed = ed.ExportPrivateSeed();
                    try
                    {
                        WriteBase64Url(writer, "d", seed);
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(seed);
                    }
                }

                break;
            default:
                throw new InvalidOperationException("Unsupported key type.");
        }

        writer.WriteString("kid", key.KeyId);
        writer.WriteString("alg", key.Algorithm);
        writer.WriteString("use", "sig");
        writer.WriteEndObject();
    }

    private static void WriteBase64Url(Utf8JsonWriter writer, string name, byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteString(name, Base64Url.EncodeToString(value));
    }

    private static ECDsaSecurityKey CreateEcdsaKey(JsonElement jwk, string kid, bool includePrivate)
    {
        if (RequiredString(jwk, "crv") != "P-256")
        {
            throw new FormatException($"key '{kid}' uses a curve other than P-256 (ES256 needs P-256)");
        }

        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint
            {
                X = RequiredBytes(jwk, "x", kid, P256FieldBytes),
                Y = RequiredBytes(jwk, "y", kid, P256FieldBytes),
            },
            D = includePrivate ? RequiredBytes(jwk, "d", kid, P256FieldBytes) : null,
        };

        var ecdsa = ECDsa.Create();
        try
        {
            // ImportParameters checks that the point is on the curve (and matches d), so an invalid-curve
            // key is refused here rather than at verification time.
            ecdsa.ImportParameters(parameters);
            return new ECDsaSecurityKey(ecdsa) { KeyId = kid };
        }
        catch (CryptographicException)
        {
            ecdsa.Dispose();
            throw new FormatException($"key '{kid}' is not a valid P-256 key");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    private static RsaSecurityKey CreateRsaKey(JsonElement jwk, string kid, bool includePrivate)
    {
        var modulus = TrimLeadingZeros(RequiredBytes(jwk, "n", kid));
        if (modulus.Length * 8 < MinRsaBits)
        {
            throw new FormatException($"key '{kid}' is an RSA key shorter than {MinRsaBits} bits");
        }

        var parameters = new RSAParameters { Modulus = modulus, Exponent = TrimLeadingZeros(RequiredBytes(jwk, "e", kid)) };
        if (includePrivate)
        {
            // .NET wants D as long as the modulus and the CRT values half as long; JWK trims leading zeros.
            var half = (modulus.Length + 1) / 2;
            parameters.D = PadLeft(RequiredBytes(jwk, "d", kid), modulus.Length, kid);
            parameters.P = PadLeft(RequiredBytes(jwk, "p", kid), half, kid);
            parameters.Q = PadLeft(RequiredBytes(jwk, "q", kid), half, kid);
            parameters.DP = PadLeft(RequiredBytes(jwk, "dp", kid), half, kid);
            parameters.DQ = PadLeft(RequiredBytes(jwk, "dq", kid), half, kid);
            parameters.InverseQ = PadLeft(RequiredBytes(jwk, "qi", kid), half, kid);
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportParameters(parameters);
            return new RsaSecurityKey(rsa) { KeyId = kid };
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
            throw new FormatException($"key '{kid}' is not a valid RSA key");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
            CryptographicOperations.ZeroMemory(parameters.P);
            CryptographicOperations.ZeroMemory(parameters.Q);
            CryptographicOperations.ZeroMemory(parameters.DP);
            CryptographicOperations.ZeroMemory(parameters.DQ);
            CryptographicOperations.ZeroMemory(parameters.InverseQ);
        }
    }

    private static Ed25519SecurityKey CreateEd25519Key(JsonElement jwk, string kid, bool includePrivate)
    {
        if (RequiredString(jwk, "crv") != "Ed25519")
        {
            throw new FormatException($"key '{kid}' is an OKP key on a curve other than Ed25519");
        }

        var x = RequiredBytes(jwk, "x", kid, Ed25519KeyBytes);
        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, x, KeyBlobFormat.RawPublicKey, out var publicKey) || publicKey is null)
        {
            throw new FormatException($"key '{kid}' is not a valid Ed25519 public key");
        }

        if (!includePrivate)
        {
            return new Ed25519SecurityKey(publicKey) { KeyId = kid };
        }

        var seed = RequiredBytes(jwk, "d", kid, Ed25519KeyBytes);
        try
        {
            var creation = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
            if (!Key.TryImport(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, out var privateKey, in creation) || privateKey is null)
            {
                throw new FormatException($"key '{kid}' is not a valid Ed25519 private key");
            }

            if (!privateKey.PublicKey.Equals(publicKey))
            {
                privateKey.Dispose();
                throw new FormatException($"key '{kid}': \"x\" is not the public key of \"d\"");
            }

            return new Ed25519SecurityKey(privateKey) { KeyId = kid };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static string? ReadAlgorithm(JsonElement jwk)
    {
        var algorithm = OptionalString(jwk, "alg");
        if (algorithm is not null && !JwsAlgorithms.IsSupported(algorithm))
        {
            throw new FormatException($"key '{OptionalString(jwk, "kid")}' declares an unsupported \"alg\" (ES256, EdDSA, Ed25519, RS256, PS256 are supported)");
        }

        return algorithm;
    }

    private static string RequiredString(JsonElement jwk, string name) =>
        OptionalString(jwk, name) is { Length: > 0 } value ? value : throw new FormatException($"a key has no \"{name}\"");

    private static string? OptionalString(JsonElement jwk, string name)
    {
        if (!jwk.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new FormatException($"a key's \"{name}\" is not a string");
    }

    private static bool ContainsString(JsonElement array, string wanted)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("a key's \"key_ops\" is not an array");
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && item.ValueEquals(wanted))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] RequiredBytes(JsonElement jwk, string name, string kid, int exactLength = -1)
    {
        var text = OptionalString(jwk, name);
        if (text is null || !IsBase64Url(text))
        {
            throw new FormatException($"key '{kid}' has no base64url \"{name}\"");
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            throw new FormatException($"key '{kid}' has no base64url \"{name}\"");
        }

        if (exactLength >= 0 && bytes.Length != exactLength)
        {
            throw new FormatException($"key '{kid}': \"{name}\" must be {exactLength} bytes");
        }

        return bytes;
    }

    private static byte[] TrimLeadingZeros(byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0)
        {
            start++;
        }

        return start == 0 ? value : value[start..];
    }

    private static byte[] PadLeft(byte[] value, int length, string kid)
    {
        var trimmed = TrimLeadingZeros(value);
        if (trimmed.Length > length)
        {
            throw new FormatException($"key '{kid}' has an RSA private value longer than its modulus allows");
        }

        if (trimmed.Length == length)
        {
            return trimmed;
        }

        var padded = new byte[length];
        trimmed.CopyTo(padded, length - trimmed.Length);
        CryptographicOperations.ZeroMemory(value);
        return padded;
    }
}
