using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Gateway.Tokens;

/// <summary>
/// An Ed25519 key (JWK <c>kty: OKP</c>, <c>crv: Ed25519</c>) for IdentityModel. IdentityModel 8 has no
/// EdDSA support of its own, so the key carries a <see cref="CryptoProviderFactory"/> whose custom provider
/// signs and verifies with libsodium through NSec.
/// </summary>
public sealed class Ed25519SecurityKey : AsymmetricSecurityKey, IDisposable
{
    // One shared factory: the custom provider is stateless, and IdentityModel's own signature-provider
    // cache keys on a key's InternalId, which this type does not compute, so that cache stays off.
    private static readonly CryptoProviderFactory SharedFactory = new()
    {
        CustomCryptoProvider = Ed25519CryptoProvider.Instance,
        CacheSignatureProviders = false,
    };

    private readonly Key? _privateKey;

    /// <summary>A verification-only key.</summary>
    public Ed25519SecurityKey(PublicKey publicKey)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        if (publicKey.Algorithm is not Ed25519)
        {
            throw new ArgumentException("Not an Ed25519 key.", nameof(publicKey));
        }

        PublicKey = publicKey;
        CryptoProviderFactory = SharedFactory;
    }

    /// <summary>A signing key. The instance owns <paramref name="privateKey"/> and disposes it.</summary>
    public Ed25519SecurityKey(Key privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        if (privateKey.Algorithm is not Ed25519)
        {
            throw new ArgumentException("Not an Ed25519 key.", nameof(privateKey));
        }

        _privateKey = privateKey;
        PublicKey = privateKey.PublicKey;
        CryptoProviderFactory = SharedFactory;
    }

    public PublicKey PublicKey { get; }

    public override int KeySize => 256;

    [Obsolete("HasPrivateKey is obsolete in IdentityModel; use PrivateKeyStatus.")]
    public override bool HasPrivateKey => _privateKey is not null;

    public override PrivateKeyStatus PrivateKeyStatus => _privateKey is null ? PrivateKeyStatus.DoesNotExist : PrivateKeyStatus.Exists;

    internal Key PrivateKey => _privateKey ?? throw new InvalidOperationException("This Ed25519 key has no private part.");

    public void Dispose() => _privateKey?.Dispose();

    /// <summary>The 32-byte private seed (the JWK <c>d</c>). The caller zeroes it.</summary>
    internal byte[] ExportPrivateSeed() => PrivateKey.Export(KeyBlobFormat.RawPrivateKey);
}
