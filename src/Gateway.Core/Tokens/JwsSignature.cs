using System.Buffers;
using System.Buffers.Text;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tokens;

/// <summary>
/// The one signature check for every JWS an issuer signs (capability tokens, security event tokens, status list
/// tokens): the signature of a compact JWS, verified over its signing input with the key's IdentityModel signature
/// provider. The caller has vetted the algorithm for the issuer and the key; this checks only the cryptography.
/// </summary>
internal static class JwsSignature
{
    /// <summary>
    /// True when the signature of <paramref name="compact"/> (three base64url parts, already checked by the caller)
    /// verifies with <paramref name="key"/> under <paramref name="algorithm"/>. A provider that refuses the key or the
    /// algorithm counts as a failed check; <paramref name="error"/> then says why, for a debug log line.
    /// </summary>
    public static bool Verify(ReadOnlySpan<char> compact, string algorithm, IssuerKey key, out Exception? error)
    {
        error = null;
        var signatureStart = compact.LastIndexOf('.') + 1;
        if (signatureStart <= 0)
        {
            return false;
        }

        var inputLength = signatureStart - 1;
        var input = ArrayPool<byte>.Shared.Rent(inputLength);
        var signature = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(compact.Length - signatureStart));
        var factory = key.SecurityKey.CryptoProviderFactory ?? CryptoProviderFactory.Default;
        SignatureProvider? provider = null;
        try
        {
            // A JWS is ASCII (callers refuse anything else), so each character is its byte.
            System.Text.Encoding.ASCII.GetBytes(compact[..inputLength], input);
            if (Base64Url.DecodeFromChars(compact[signatureStart..], signature, out _, out var signatureLength) != OperationStatus.Done)
            {
                return false;
            }

            provider = factory.CreateForVerifying(key.SecurityKey, algorithm);
            return provider.Verify(input, 0, inputLength, signature, 0, signatureLength);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException or SecurityTokenException or System.Security.Cryptography.CryptographicException)
        {
            error = e;
            return false;
        }
        finally
        {
            if (provider is not null)
            {
                factory.ReleaseSignatureProvider(provider);
            }

            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(signature);
        }
    }
}
