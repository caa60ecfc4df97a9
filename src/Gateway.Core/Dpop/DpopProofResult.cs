using System.Diagnostics.CodeAnalysis;

namespace Gateway.Dpop;

/// <summary>
/// The outcome of checking one DPoP proof: valid (with the proof's <c>jti</c> and key thumbprint, for the
/// replay check), or refused with a stable <see cref="Reason"/> and a <see cref="Description"/> that names
/// claims and headers, never their values, since it travels into problem+json and logs.
/// </summary>
public sealed class DpopProofResult
{
    private DpopProofResult(string? jti, string? thumbprint, string? reason, string? description)
    {
        Jti = jti;
        Thumbprint = thumbprint;
        Reason = reason;
        Description = description;
    }

    public string? Jti { get; }

    /// <summary>RFC 7638 thumbprint of the proof's key: equal to the token's <c>cnf.jkt</c> when valid.</summary>
    public string? Thumbprint { get; }

    /// <summary>One of <see cref="DpopFailureReasons"/>; null when valid.</summary>
    public string? Reason { get; }

    public string? Description { get; }

    [MemberNotNullWhen(true, nameof(Jti), nameof(Thumbprint))]
    [MemberNotNullWhen(false, nameof(Reason), nameof(Description))]
    public bool IsValid => Reason is null;

    /// <summary>True when the only thing wrong is a missing or stale server nonce (<c>use_dpop_nonce</c>).</summary>
    public bool NeedsNonce => Reason == DpopFailureReasons.UseNonce;

    public static DpopProofResult Success(string jti, string thumbprint) => new(jti, thumbprint, null, null);

    public static DpopProofResult Fail(string reason, string description) => new(null, null, reason, description);

    public override string ToString() => IsValid ? "valid" : $"{Reason}: {Description}";
}

/// <summary>The stable values of <see cref="DpopProofResult.Reason"/> (the <c>reason</c> of a 401 <c>invalid_dpop_proof</c>). Documented in docs/tokens.md; never rename one.</summary>
public static class DpopFailureReasons
{
    /// <summary><c>Authorization: DPoP</c> without a <c>DPoP</c> header.</summary>
    public const string MissingProof = "missing_proof";

    /// <summary>More than one <c>DPoP</c> header.</summary>
    public const string MultipleProofs = "multiple_proofs";

    /// <summary>The proof is longer than <see cref="DpopProofValidator.MaxProofLength"/>.</summary>
    public const string TooLarge = "too_large";

    /// <summary>Not a compact JWS with JSON object header and payload; duplicate members; <c>crit</c>.</summary>
    public const string Malformed = "malformed";

    /// <summary><c>typ</c> is not <c>dpop+jwt</c>.</summary>
    public const string WrongType = "wrong_type";

    /// <summary><c>alg</c> missing, <c>none</c>, HS*, or not in <c>gateway.dpop.algorithms</c>.</summary>
    public const string AlgorithmNotAllowed = "algorithm_not_allowed";

    /// <summary><c>jwk</c> missing, carrying private members, unusable, or not fit for <c>alg</c>.</summary>
    public const string InvalidKey = "invalid_key";

    /// <summary>The signature does not verify with the proof's own <c>jwk</c>.</summary>
    public const string SignatureInvalid = "signature_invalid";

    /// <summary><c>jti</c>, <c>htm</c>, <c>htu</c>, <c>iat</c> or <c>ath</c> is absent.</summary>
    public const string MissingClaim = "missing_claim";

    /// <summary>A claim has the wrong JSON type or an unusable value.</summary>
    public const string InvalidClaim = "invalid_claim";

    /// <summary><c>htm</c> is not the request's method.</summary>
    public const string MethodMismatch = "method_mismatch";

    /// <summary><c>htu</c> is not the request's URI (after normalisation).</summary>
    public const string UriMismatch = "uri_mismatch";

    /// <summary><c>iat</c> is older than <c>gateway.dpop.iat_window</c>.</summary>
    public const string Stale = "stale";

    /// <summary><c>iat</c> is later than now plus <c>gateway.dpop.clock_skew</c>.</summary>
    public const string IssuedInFuture = "issued_in_future";

    /// <summary><c>ath</c> is not the hash of the access token sent with the proof.</summary>
    public const string TokenHashMismatch = "token_hash_mismatch";

    /// <summary>The proof's key is not the one the token's <c>cnf.jkt</c> names.</summary>
    public const string KeyMismatch = "key_mismatch";

    /// <summary>A proof with this <c>jti</c> and key was already accepted within the window.</summary>
    public const string Replayed = "replayed";

    /// <summary>The policy requires a server nonce and the proof has none, or a stale one; the response carries <c>DPoP-Nonce</c>.</summary>
    public const string UseNonce = "use_dpop_nonce";

    /// <summary><c>Authorization: DPoP</c> with a token that has no <c>cnf.jkt</c>.</summary>
    public const string TokenNotBound = "token_not_bound";

    /// <summary>A token with <c>cnf.jkt</c> sent as <c>Authorization: Bearer</c>.</summary>
    public const string BoundTokenAsBearer = "bound_token_as_bearer";

    /// <summary><c>gateway.sender_constraint: required</c> and the token carries no <c>cnf</c>.</summary>
    public const string SenderConstraintRequired = "sender_constraint_required";
}
