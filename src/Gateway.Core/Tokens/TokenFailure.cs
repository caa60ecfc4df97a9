namespace Gateway.Tokens;

/// <summary>
/// Why a token was refused. <see cref="Reason"/> is a stable machine word (see <see cref="TokenFailureReasons"/>);
/// <see cref="Description"/> is a sentence a person can act on. Neither ever contains the token or a claim
/// value, because both end up in problem+json bodies, logs and audit lines: claim and header NAMES only.
/// </summary>
public sealed class TokenFailure
{
    public TokenFailure(string reason, string description)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        ArgumentException.ThrowIfNullOrEmpty(description);
        Reason = reason;
        Description = description;
    }

    public string Reason { get; }

    public string Description { get; }

    public override string ToString() => $"{Reason}: {Description}";
}

/// <summary>The stable values of <see cref="TokenFailure.Reason"/>. Documented in docs/tokens.md; never rename one.</summary>
public static class TokenFailureReasons
{
    /// <summary>Not a compact JWS with base64url JSON header and payload (includes JWE and non-ASCII input).</summary>
    public const string Malformed = "malformed";

    /// <summary>Longer than 64 KiB.</summary>
    public const string TooLarge = "too_large";

    /// <summary><c>alg</c> is <c>none</c>, HS*, unknown, not allowed for the issuer, or not usable with the key named by <c>kid</c>.</summary>
    public const string AlgorithmNotAllowed = "algorithm_not_allowed";

    /// <summary>The header carries <c>jku</c>, <c>x5u</c> or <c>jwk</c>.</summary>
    public const string HeaderNotAllowed = "header_not_allowed";

    /// <summary>The header carries <c>crit</c>.</summary>
    public const string CriticalHeader = "critical_header";

    /// <summary><c>iss</c> is not a configured issuer.</summary>
    public const string UnknownIssuer = "unknown_issuer";

    /// <summary><c>kid</c> is missing or names no key in the issuer's JWKS (after a refresh when the JWKS comes from a URL).</summary>
    public const string UnknownKey = "unknown_key";

    /// <summary>The issuer's keys could not be loaded at all (its <c>jwks_uri</c> has never answered).</summary>
    public const string KeysUnavailable = "keys_unavailable";

    /// <summary>The signature does not verify with the issuer's key.</summary>
    public const string SignatureInvalid = "signature_invalid";

    /// <summary><c>typ</c> is missing or not one of the issuer's accepted types.</summary>
    public const string WrongType = "wrong_type";

    /// <summary><c>aud</c> does not contain the gateway's audience.</summary>
    public const string WrongAudience = "wrong_audience";

    /// <summary><c>exp</c> (plus clock skew) has passed.</summary>
    public const string Expired = "expired";

    /// <summary><c>nbf</c> or <c>iat</c> (minus clock skew) is in the future.</summary>
    public const string NotYetValid = "not_yet_valid";

    /// <summary><c>exp - iat</c> exceeds <c>gateway.max_token_lifetime</c>.</summary>
    public const string LifetimeTooLong = "lifetime_too_long";

    /// <summary>A required claim is absent.</summary>
    public const string MissingClaim = "missing_claim";

    /// <summary>A claim is present but has the wrong shape or an unusable value.</summary>
    public const string InvalidClaim = "invalid_claim";
}
