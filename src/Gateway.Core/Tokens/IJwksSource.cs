namespace Gateway.Tokens;

/// <summary>Where one issuer's verification keys come from (a file, a <c>jwks_uri</c>).</summary>
public interface IJwksSource
{
    /// <summary>
    /// Finds the key named <paramref name="keyId"/>. A source may fetch keys here (first use, stale keys, an
    /// unknown <c>kid</c>), but must bound how often, since <paramref name="keyId"/> is attacker-chosen.
    /// </summary>
    ValueTask<KeyLookup> FindKeyAsync(string keyId, CancellationToken cancellationToken);
}

/// <summary>Finds verification keys by (issuer, <c>kid</c>); a <c>kid</c> is only ever looked up in its own issuer's keys.</summary>
public interface ISigningKeyResolver
{
    ValueTask<KeyLookup> FindKeyAsync(string issuer, string keyId, CancellationToken cancellationToken);
}

public enum KeyLookupStatus
{
    Found,

    /// <summary>The issuer's keys are known, and none has that <c>kid</c>.</summary>
    UnknownKey,

    /// <summary>The issuer's keys could not be loaded at all.</summary>
    KeysUnavailable,
}

/// <summary>The answer of a key lookup; <see cref="Key"/> is set exactly when <see cref="Status"/> is <see cref="KeyLookupStatus.Found"/>.</summary>
public readonly record struct KeyLookup(KeyLookupStatus Status, IssuerKey? Key)
{
    public static KeyLookup Unknown { get; } = new(KeyLookupStatus.UnknownKey, null);

    public static KeyLookup Unavailable { get; } = new(KeyLookupStatus.KeysUnavailable, null);

    public static KeyLookup Found(IssuerKey key) => new(KeyLookupStatus.Found, key);
}
