using System.Buffers.Text;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tokens;

/// <summary>
/// Produces compact JWS strings from already-serialized header and payload JSON. Kept byte-level (rather than
/// <c>JsonWebTokenHandler.CreateToken</c>) so that what is signed is exactly what was written: the minter
/// controls header and claim order, and tests can sign deliberately hostile headers.
/// </summary>
internal static class JwsWriter
{
    public static string Sign(ReadOnlySpan<byte> headerJson, ReadOnlySpan<byte> payloadJson, SecurityKey key, string algorithm)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signingInput = Base64Url.EncodeToString(headerJson) + "." + Base64Url.EncodeToString(payloadJson);
        var factory = key.CryptoProviderFactory ?? CryptoProviderFactory.Default;
        var provider = factory.CreateForSigning(key, algorithm);
        try
        {
            var signature = provider.Sign(Encoding.ASCII.GetBytes(signingInput));
            return signingInput + "." + Base64Url.EncodeToString(signature);
        }
        finally
        {
            factory.ReleaseSignatureProvider(provider);
        }
    }

    /// <summary>A JWS with an empty signature, as <c>alg: none</c> produces. Only tests want this.</summary>
    public static string WithoutSignature(ReadOnlySpan<byte> headerJson, ReadOnlySpan<byte> payloadJson) =>
        Base64Url.EncodeToString(headerJson) + "." + Base64Url.EncodeToString(payloadJson) + ".";
}
