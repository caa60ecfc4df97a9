using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Gateway.Tokens;

/// <summary>
/// Plugs EdDSA (RFC 8037, Ed25519 only; also under its RFC 9864 name <c>Ed25519</c>) into IdentityModel via <see cref="CryptoProviderFactory.CustomCryptoProvider"/>.
/// </summary>
internal sealed class Ed25519CryptoProvider : ICryptoProvider
{
    public static readonly Ed25519CryptoProvider Instance = new();

    private Ed25519CryptoProvider()
    {
    }

    // IdentityModel also asks with no arguments (when it releases a provider), so an empty args list
    // answers for the algorithm alone.
    public bool IsSupportedAlgorithm(string algorithm, params object[] args) =>
        algorithm is JwsAlgorithms.EdDsa or JwsAlgorithms.Ed25519
        && (args is null || args.Length == 0 || args[0] is Ed25519SecurityKey);

    public object Create(string algorithm, params object[] args)
    {
        if (!IsSupportedAlgorithm(algorithm, args) || args is null || args.Length == 0)
        {
            throw new NotSupportedException("Only EdDSA (Ed25519) with an Ed25519SecurityKey is supported.");
        }

        var key = (Ed25519SecurityKey)args[0];
        var willCreateSignatures = args.Length > 1 && args[1] is true;
        if (willCreateSignatures && key.PrivateKeyStatus != PrivateKeyStatus.Exists)
        {
            throw new InvalidOperationException("Cannot sign with an Ed25519 key that has no private part.");
        }

        return new Ed25519SignatureProvider(key, algorithm, willCreateSignatures);
    }

    public void Release(object cryptoInstance)
    {
        if (cryptoInstance is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}

/// <summary>Ed25519 signatures over the JWS signing input. Stateless, so safe to share across threads.</summary>
internal sealed class Ed25519SignatureProvider : SignatureProvider
{
    private readonly Ed25519SecurityKey _key;

    public Ed25519SignatureProvider(Ed25519SecurityKey key, string algorithm, bool willCreateSignatures)
        : base(key, algorithm)
    {
        _key = key;
        WillCreateSignatures = willCreateSignatures;
    }

    public override byte[] Sign(byte[] input) => SignatureAlgorithm.Ed25519.Sign(_key.PrivateKey, input);

    public override byte[] Sign(byte[] input, int offset, int count) =>
        SignatureAlgorithm.Ed25519.Sign(_key.PrivateKey, input.AsSpan(offset, count));

    public override bool Sign(ReadOnlySpan<byte> data, Span<byte> destination, out int bytesWritten)
    {
        var size = SignatureAlgorithm.Ed25519.SignatureSize;
        if (destination.Length < size)
        {
            bytesWritten = 0;
            return false;
        }

        SignatureAlgorithm.Ed25519.Sign(_key.PrivateKey, data, destination[..size]);
        bytesWritten = size;
        return true;
    }

    public override bool Verify(byte[] input, byte[] signature) =>
        SignatureAlgorithm.Ed25519.Verify(_key.PublicKey, input, signature);

    public override bool Verify(byte[] input, int inputOffset, int inputLength, byte[] signature, int signatureOffset, int signatureLength) =>
        SignatureAlgorithm.Ed25519.Verify(_key.PublicKey, input.AsSpan(inputOffset, inputLength), signature.AsSpan(signatureOffset, signatureLength));

    protected override void Dispose(bool disposing)
    {
        // Nothing to free: the key belongs to the Ed25519SecurityKey, not to this provider.
    }
}
