using System.Collections.Concurrent;

namespace Gateway.Tokens;

/// <summary>
/// Every refusal the validator produces, worded once. Fixed-text failures are shared instances so a refusal
/// costs no allocation; the ones naming a claim are cached per name (names come from code, never from tokens).
/// </summary>
internal static class TokenFailures
{
    private static readonly ConcurrentDictionary<string, TokenFailure> Missing = new(StringComparer.Ordinal);

    public static TokenFailure Empty { get; } = new(TokenFailureReasons.Malformed, "No token was sent; send the capability token as 'Authorization: Bearer TOKEN'.");

    public static TokenFailure TooLarge { get; } = new(TokenFailureReasons.TooLarge, $"The token is larger than {CapabilityTokenValidator.MaxTokenLength / 1024} KiB; ask the issuer for a token with fewer grants.");

    public static TokenFailure NotAscii { get; } = new(TokenFailureReasons.Malformed, "The token contains characters outside base64url; send the compact JWS exactly as issued.");

    public static TokenFailure NotCompactJws { get; } = new(TokenFailureReasons.Malformed, "The token is not a compact JWS (three base64url parts separated by dots); send the token exactly as issued.");

    public static TokenFailure Encrypted { get; } = new(TokenFailureReasons.Malformed, "Encrypted tokens (JWE) are not accepted; the gateway needs a signed JWS.");

    public static TokenFailure BadJson { get; } = new(TokenFailureReasons.Malformed, "The token's header or payload is not valid base64url-encoded JSON (duplicate member names are refused too).");

    public static TokenFailure HeaderNotObject { get; } = new(TokenFailureReasons.Malformed, "The token header is not a JSON object.");

    public static TokenFailure PayloadNotObject { get; } = new(TokenFailureReasons.Malformed, "The token payload is not a JSON object.");

    public static TokenFailure NoAlgorithm { get; } = new(TokenFailureReasons.AlgorithmNotAllowed, "The token header has no 'alg'; tokens must be signed with ES256, EdDSA, RS256 or PS256.");

    public static TokenFailure AlgorithmNone { get; } = new(TokenFailureReasons.AlgorithmNotAllowed, "Unsigned tokens ('alg' none) are never accepted; ask the issuer for a signed token.");

    public static TokenFailure AlgorithmSymmetric { get; } = new(TokenFailureReasons.AlgorithmNotAllowed, "HMAC-signed tokens ('alg' HS*) are never accepted; the issuer must sign with ES256, EdDSA, RS256 or PS256.");

    public static TokenFailure AlgorithmUnsupported { get; } = new(TokenFailureReasons.AlgorithmNotAllowed, "The token's 'alg' is not supported; the gateway accepts ES256, EdDSA, RS256 and PS256.");

    public static TokenFailure AlgorithmNotForIssuer { get; } = new(TokenFailureReasons.AlgorithmNotAllowed, "The token's 'alg' is not allowed for its issuer; ask the issuer to sign with an algorithm listed for it in the gateway policy.");

    public static TokenFailure AlgorithmNotForKey { get; } = new(TokenFailureReasons.AlgorithmNotAllowed, "The key named by the token's 'kid' cannot be used with the token's 'alg'.");

    public static TokenFailure Critical { get; } = new(TokenFailureReasons.CriticalHeader, "The token header has 'crit'; the gateway understands no critical extensions, so the issuer must not use them.");

    public static TokenFailure NoKeyId { get; } = new(TokenFailureReasons.UnknownKey, "The token header has no 'kid'; the issuer must name the signing key.");

    public static TokenFailure UnknownKey { get; } = new(TokenFailureReasons.UnknownKey, "The token's 'kid' names no key the gateway knows for its issuer; the key may be retired, or the gateway's keys for that issuer are out of date.");

    public static TokenFailure KeysUnavailable { get; } = new(TokenFailureReasons.KeysUnavailable, "The gateway could not load its issuer's signing keys; retry later, and tell the gateway operators if it persists.");

    public static TokenFailure NoType { get; } = new(TokenFailureReasons.WrongType, "The token header has no 'typ'; capability tokens are typed 'at+jwt' (RFC 9068).");

    public static TokenFailure WrongType { get; } = new(TokenFailureReasons.WrongType, "The token's 'typ' is not accepted for its issuer; capability tokens are typed 'at+jwt' (RFC 9068). Another kind of token (an ID token, say) cannot be used here.");

    public static TokenFailure UnknownIssuer { get; } = new(TokenFailureReasons.UnknownIssuer, "The token's 'iss' is not an issuer this gateway trusts; get a token from a configured issuer.");

    public static TokenFailure SignatureInvalid { get; } = new(TokenFailureReasons.SignatureInvalid, "The token's signature does not verify; it was altered or signed with another key. Send the token exactly as issued.");

    public static TokenFailure WrongAudience { get; } = new(TokenFailureReasons.WrongAudience, "The token's 'aud' does not include this gateway; request a token for the gateway's audience.");

    public static TokenFailure Expired { get; } = new(TokenFailureReasons.Expired, "The token has expired ('exp'); get a new token.");

    public static TokenFailure NotYetValid { get; } = new(TokenFailureReasons.NotYetValid, "The token is not valid yet ('nbf'); wait, or check the clocks of the issuer and the gateway.");

    public static TokenFailure IssuedInFuture { get; } = new(TokenFailureReasons.NotYetValid, "The token's 'iat' is in the future; check the clocks of the issuer and the gateway.");

    public static TokenFailure LifetimeTooLong { get; } = new(TokenFailureReasons.LifetimeTooLong, "The token lives longer ('exp' - 'iat') than the gateway's max_token_lifetime allows; request a shorter-lived token.");

    public static TokenFailure ExpiryBeforeIssue { get; } = Invalid("exp", "is not after 'iat'");

    public static TokenFailure StatusListNotAllowed { get; } = Invalid(
        "status.status_list.uri", "is not under a status list location configured for its issuer ('status_lists' in the gateway policy); the gateway fetches status lists only from there");

    public static TokenFailure KeyReferenceHeader(string header) => header switch
    {
        "jku" => JkuHeader,
        "x5u" => X5uHeader,
        _ => JwkHeader,
    };

    public static TokenFailure MissingClaim(string name) =>
        Missing.GetOrAdd(name, static n => new TokenFailure(TokenFailureReasons.MissingClaim, $"The token has no '{n}' claim, which capability tokens require; the issuer must include it."));

    public static TokenFailure Invalid(string name, string problem) =>
        new(TokenFailureReasons.InvalidClaim, $"The token's '{name}' claim {problem}.");

    private static TokenFailure JkuHeader { get; } = new(TokenFailureReasons.HeaderNotAllowed, "The token header has 'jku'; the gateway never fetches keys a token points to, and refuses such tokens. Keys come from the issuer's configured JWKS.");

    private static TokenFailure X5uHeader { get; } = new(TokenFailureReasons.HeaderNotAllowed, "The token header has 'x5u'; the gateway never fetches keys a token points to, and refuses such tokens. Keys come from the issuer's configured JWKS.");

    private static TokenFailure JwkHeader { get; } = new(TokenFailureReasons.HeaderNotAllowed, "The token header has 'jwk'; the gateway never trusts a key embedded in the token it verifies, and refuses such tokens. Keys come from the issuer's configured JWKS.");
}
