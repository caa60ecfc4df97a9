using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Gateway.Tokens;

/// <summary>Creates fresh signing keys: the library behind <c>gateway keys generate</c>.</summary>
public static class KeyGenerator
{
    /// <summary>RSA modulus size for generated RS256/PS256 keys: 2048, what mainstream identity providers issue (RFC 7518 minimum).</summary>
    public const int RsaKeyBits = 2048;

    /// <summary>
    /// Generates a key for <paramref name="algorithm"/> (ES256, EdDSA, RS256 or PS256) named <paramref name="keyId"/>.
    /// </summary>
    public static GeneratedKeyPair Generate(string algorithm, string keyId)
    {
        using var key = Create(algorithm, keyId);
        return new GeneratedKeyPair(key.KeyId, key.Algorithm, key.ToPrivateJwk(), key.ToPublicJwks());
    }

    /// <summary>Like <see cref="Generate"/>, but returns the live key (the caller disposes it). Handy for tests.</summary>
    public static SigningKey Create(string algorithm, string keyId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        if (!JwsAlgorithms.IsSupported(algorithm))
        {
            throw new ArgumentException($"Unsupported algorithm '{algorithm}'; use one of {string.Join(", ", JwsAlgorithms.Supported)}.", nameof(algorithm));
        }

        var family = JwsAlgorithms.FamilyOf(algorithm);
        SecurityKey securityKey = family switch
        {
            KeyFamily.EcP256 => new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = keyId },
            KeyFamily.Rsa => new RsaSecurityKey(RSA.Create(RsaKeyBits)) { KeyId = keyId },
            _ => new Ed25519SecurityKey(Key.Create(
                SignatureAlgorithm.Ed25519,
                new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }))
            { KeyId = keyId },
        };
        return new SigningKey(keyId, algorithm, family, securityKey);
    }
}

/// <summary>A freshly generated key: the private JWK (a secret) and the public JWKS to configure on the gateway.</summary>
public sealed record GeneratedKeyPair(string KeyId, string Algorithm, string PrivateJwk, string PublicJwks)
{
    /// <summary>
    /// Writes <c>{name}-private.jwk</c> (owner-only permissions on Unix) and <c>{name}.jwks.json</c> into
    /// <paramref name="directory"/>, creating it if needed. Refuses to overwrite an existing private key.
    /// </summary>
    public (string PrivateJwkPath, string PublicJwksPath) WriteTo(string directory, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Directory.CreateDirectory(directory);
        var privatePath = Path.Combine(directory, name + "-private.jwk");
        var publicPath = Path.Combine(directory, name + ".jwks.json");

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created with 0600 from the start, so the key is never readable by others even briefly.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(privatePath, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options))
        {
            writer.Write(PrivateJwk);
        }

        File.WriteAllText(publicPath, PublicJwks);
        return (privatePath, publicPath);
    }

    // The private JWK must not leak through logging or a debugger's ToString of the record.
    public override string ToString() => $"GeneratedKeyPair {{ KeyId = {KeyId}, Algorithm = {Algorithm} }}";
}
