using System.Buffers;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tokens;

/// <summary>
/// A private key that signs capability tokens: what <c>gateway token mint --key</c> loads and what
/// <see cref="KeyGenerator"/> creates. Owns the underlying key material; dispose it when done.
/// </summary>
public sealed class SigningKey : IDisposable
{
    // IdentityModel's default factory caches signature providers by key thumbprint. A provider cached for a
    // key that was then disposed would be handed to the next key with the same material (the same file
    // loaded twice) and fail. Minting is rare, so signing keys simply skip the cache.
    private static readonly CryptoProviderFactory UncachedFactory = new() { CacheSignatureProviders = false };

    internal SigningKey(string keyId, string algorithm, KeyFamily family, SecurityKey securityKey)
    {
        KeyId = keyId;
        Algorithm = algorithm;
        Family = family;
        SecurityKey = securityKey;
        if (securityKey is not Ed25519SecurityKey)
        {
            securityKey.CryptoProviderFactory = UncachedFactory;
        }
    }

    /// <summary>The <c>kid</c> tokens signed with this key carry.</summary>
    public string KeyId { get; }

    /// <summary>The JWS <c>alg</c> tokens signed with this key carry.</summary>
    public string Algorithm { get; }

    public SecurityKey SecurityKey { get; }

    internal KeyFamily Family { get; }

    /// <summary>Reads a private JWK (JSON object with <c>d</c>). Throws <see cref="FormatException"/> naming the problem, never the key material.</summary>
    public static SigningKey FromJwk(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            return Jwk.ReadPrivate(document.RootElement);
        }
        catch (JsonException)
        {
            throw new FormatException("The private key is not valid JSON.");
        }
    }

    /// <summary>Loads a private JWK file as written by <c>gateway keys generate</c>.</summary>
    public static SigningKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return FromJwk(File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>The private JWK, as JSON (indented). Treat the result as a secret.</summary>
    public string ToPrivateJwk() => Write(Jwk.WritePrivate, wrapInSet: false);

    /// <summary>The public JWK set <c>{"keys":[...]}</c> (indented), for an issuer's <c>jwks_file</c>.</summary>
    public string ToPublicJwks() => Write(Jwk.WritePublic, wrapInSet: true);

    public void Dispose() => Jwk.DisposeKey(SecurityKey);

    private string Write(Action<Utf8JsonWriter, SigningKey> write, bool wrapInSet)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            if (wrapInSet)
            {
                writer.WriteStartObject();
                writer.WriteStartArray("keys");
            }

            write(writer, this);
            if (wrapInSet)
            {
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }
}
