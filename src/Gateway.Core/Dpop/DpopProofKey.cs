using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Tokens;
using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Gateway.Dpop;

/// <summary>
/// The public key a DPoP proof carries in its <c>jwk</c> header: its RFC 7638 thumbprint (what <c>cnf.jkt</c>
/// names) and the signature check. Signatures are verified directly with the platform's primitives rather
/// than through IdentityModel, whose provider cache would otherwise fill with one-off keys chosen by clients.
/// </summary>
internal static class DpopProofKey
{
    /// <summary>Longest RSA modulus accepted in a proof (4096 bits), so a client cannot make the gateway verify with a huge key.</summary>
    public const int MaxRsaModulusBytes = 512;

    // Every private member JWA defines (RFC 7518 section 6), and 'k', which makes a key symmetric.
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    public static bool HasPrivateMembers(JsonElement jwk)
    {
        foreach (var name in PrivateMembers)
        {
            if (jwk.TryGetProperty(name, out _))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The RFC 7638 thumbprint: base64url SHA-256 of the required members in lexicographic order, no whitespace.
    /// Null when a required member is missing, not a string, or (RSA) too long. The values are used exactly as
    /// sent; <see cref="Jwk.ReadEmbeddedPublic"/> has already checked they are base64url.
    /// </summary>
    public static string? Thumbprint(JsonElement jwk)
    {
        var kty = Member(jwk, "kty");
        string? canonical = kty switch
        {
            "EC" when Member(jwk, "crv") is { } crv && Member(jwk, "x") is { } x && Member(jwk, "y") is { } y =>
                $"{{\"crv\":\"{crv}\",\"kty\":\"EC\",\"x\":\"{x}\",\"y\":\"{y}\"}}",
            "RSA" when Member(jwk, "e") is { Length: <= 8 } e && Member(jwk, "n") is { } n && Base64Url.GetMaxDecodedLength(n.Length) <= MaxRsaModulusBytes + 1 =>
                $"{{\"e\":\"{e}\",\"kty\":\"RSA\",\"n\":\"{n}\"}}",
            "OKP" when Member(jwk, "crv") is { } crv && Member(jwk, "x") is { } x =>
                $"{{\"crv\":\"{crv}\",\"kty\":\"OKP\",\"x\":\"{x}\"}}",
            _ => null,
        };

        if (canonical is null)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(canonical), hash);
        return Base64Url.EncodeToString(hash);
    }

    public static bool Verify(SecurityKey key, string algorithm, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        try
        {
            return (key, algorithm) switch
            {
                (ECDsaSecurityKey ec, JwsAlgorithms.Es256) =>
                    signature.Length == 64 && ec.ECDsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
                (RsaSecurityKey { Rsa: { } rsa }, JwsAlgorithms.Rs256) =>
                    rsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                (RsaSecurityKey { Rsa: { } rsa }, JwsAlgorithms.Ps256) =>
                    rsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
                (Ed25519SecurityKey ed, JwsAlgorithms.EdDsa or JwsAlgorithms.Ed25519) =>
                    SignatureAlgorithm.Ed25519.Verify(ed.PublicKey, signingInput, signature),
                _ => false,
            };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static string? Member(JsonElement jwk, string name) =>
        jwk.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
