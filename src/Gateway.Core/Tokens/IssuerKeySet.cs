using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Gateway.Tokens;

/// <summary>The usable verification keys of one issuer, by <c>kid</c>. Immutable; a refresh builds a new set.</summary>
public sealed class IssuerKeySet
{
    /// <summary>More keys than this in one JWKS is refused: a set is a handful of rotating keys, and every RSA import costs.</summary>
    public const int MaxKeys = 64;

    private readonly FrozenDictionary<string, IssuerKey> _keys;

    private IssuerKeySet(FrozenDictionary<string, IssuerKey> keys) => _keys = keys;

    public static IssuerKeySet Empty { get; } = new(FrozenDictionary<string, IssuerKey>.Empty);

    public int Count => _keys.Count;

    public IEnumerable<IssuerKey> Keys => _keys.Values;

    /// <summary>Ordinal: <c>kid</c> values are opaque.</summary>
    public bool TryGetKey(string keyId, [NotNullWhen(true)] out IssuerKey? key) => _keys.TryGetValue(keyId, out key);

    /// <summary>
    /// Parses a JWKS document (<c>{"keys":[...]}</c>). A key the gateway cannot use (symmetric, another curve,
    /// short RSA, <c>use: enc</c>...) is skipped and described in <paramref name="skipped"/> so that an issuer
    /// publishing extra keys still works; a document that is not a JWKS, or has two keys with one <c>kid</c>
    /// (which would make the lookup ambiguous), throws <see cref="FormatException"/>.
    /// </summary>
    public static IssuerKeySet Parse(ReadOnlySpan<byte> json, out IReadOnlyList<string> skipped)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 16 });
        }
        catch (JsonException)
        {
            throw new FormatException("the JWKS is not valid JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("the JWKS has no \"keys\" array");
            }

            if (keys.GetArrayLength() > MaxKeys)
            {
                throw new FormatException($"the JWKS has more than {MaxKeys} keys");
            }

            var problems = new List<string>();
            var parsed = new Dictionary<string, IssuerKey>(StringComparer.Ordinal);
            foreach (var element in keys.EnumerateArray())
            {
                IssuerKey key;
                try
                {
                    key = Jwk.ReadPublic(element, out var hadPrivate);
                    if (hadPrivate)
                    {
                        problems.Add($"key '{key.KeyId}' carries private key material; only its public part is used, but the private key should be considered exposed");
                    }
                }
                catch (FormatException e)
                {
                    problems.Add(e.Message);
                    continue;
                }

                if (!parsed.TryAdd(key.KeyId, key))
                {
                    throw new FormatException($"the JWKS has two keys with kid '{key.KeyId}'");
                }
            }

            skipped = problems;
            return new IssuerKeySet(parsed.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }
}
