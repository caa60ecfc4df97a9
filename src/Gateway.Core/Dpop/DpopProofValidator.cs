using System.Buffers;
using System.Buffers.Text;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Dpop;

/// <summary>What one DPoP proof is checked against: the request, the access token and the key the token is bound to.</summary>
/// <param name="Proofs">Every value of the request's <c>DPoP</c> header.</param>
/// <param name="Method">The request's method, as received.</param>
/// <param name="RequestUri">The request's URI normalised by <see cref="DpopUri.ForRequest"/>; null when it cannot be told.</param>
/// <param name="AccessToken">The access token sent with the proof (for <c>ath</c>).</param>
/// <param name="ExpectedThumbprint">The token's <c>cnf.jkt</c>.</param>
public readonly record struct DpopProofRequest(StringValues Proofs, string Method, string? RequestUri, string AccessToken, string ExpectedThumbprint);

/// <summary>
/// Checks a DPoP proof (RFC 9449 section 4.3) for one request. Stateless apart from the clock and the nonce key:
/// the once-only use of a proof's <c>jti</c> is the caller's next step, through an <see cref="IDpopReplayStore"/>,
/// after this says the proof is otherwise valid. One instance per loaded policy (its <c>gateway.dpop</c>).
/// </summary>
public sealed class DpopProofValidator
{
    /// <summary>Longest proof accepted: 8 KiB (a proof with a 4096-bit RSA key is under 2 KiB).</summary>
    public const int MaxProofLength = 8 * 1024;

    /// <summary>Longest <c>jti</c> accepted: it becomes a store key.</summary>
    public const int MaxJtiLength = 256;

    /// <summary>The <c>typ</c> RFC 9449 requires.</summary>
    public const string ProofType = "dpop+jwt";

    private static readonly SearchValues<char> JwsCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    // A proof is a flat object with one small nested jwk; anything deeper is not a proof.
    private static readonly JsonDocumentOptions JsonOptions = new() { AllowDuplicateProperties = false, MaxDepth = 8 };

    private readonly DpopSettings _settings;
    private readonly FrozenSet<string> _algorithms;
    private readonly DpopNonces? _nonces;
    private readonly TimeProvider _time;

    /// <param name="settings">The policy's <c>gateway.dpop</c>.</param>
    /// <param name="nonces">Required when <see cref="DpopSettings.RequireNonce"/> is set.</param>
    /// <param name="time">The clock for <c>iat</c> and nonces.</param>
    public DpopProofValidator(DpopSettings settings, DpopNonces? nonces, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        if (settings.RequireNonce && nonces is null)
        {
            throw new ArgumentException("Nonces are required by the settings, so a nonce issuer must be given.", nameof(nonces));
        }

        _settings = settings;
        _algorithms = JwsAlgorithms.AllowListOf(settings.Algorithms);
        _nonces = nonces;
        _time = time;
        AlgorithmsChallenge = $"algs=\"{string.Join(' ', JwsAlgorithms.WithEquivalents(settings.Algorithms))}\"";
    }

    public DpopSettings Settings => _settings;

    /// <summary>The <c>algs</c> parameter of the <c>WWW-Authenticate: DPoP</c> challenge (RFC 9449 section 7.1).</summary>
    public string AlgorithmsChallenge { get; }

    /// <summary>Never throws for a bad proof: every refusal is a <see cref="DpopProofResult"/> with a reason.</summary>
    public DpopProofResult Validate(in DpopProofRequest request)
    {
        ArgumentNullException.ThrowIfNull(request.Method);
        ArgumentNullException.ThrowIfNull(request.AccessToken);
        ArgumentNullException.ThrowIfNull(request.ExpectedThumbprint);

        if (request.Proofs.Count == 0)
        {
            return Failures.Missing;
        }

        // Two proofs: which one would have been checked? An intermediary may also have merged them.
        if (request.Proofs.Count > 1)
        {
            return Failures.Multiple;
        }

        var proof = request.Proofs[0];
        if (string.IsNullOrEmpty(proof))
        {
            return Failures.Missing;
        }

        if (proof.Length > MaxProofLength)
        {
            return Failures.TooLarge;
        }

        if (!TrySplit(proof, out var headerPart, out var payloadPart, out var signaturePart))
        {
            return Failures.NotCompactJws;
        }

        JsonDocument? header = null;
        JsonDocument? payload = null;
        try
        {
            try
            {
                var headerBytes = Base64Url.DecodeFromChars(headerPart);
                var payloadBytes = Base64Url.DecodeFromChars(payloadPart);

                // JsonDocument checks a string's UTF-8 only when it is read, and reading it then throws.
                if (!Utf8.IsValid(headerBytes) || !Utf8.IsValid(payloadBytes))
                {
                    return Failures.BadJson;
                }

                header = JsonDocument.Parse(headerBytes, JsonOptions);
                payload = JsonDocument.Parse(payloadBytes, JsonOptions);
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                return Failures.BadJson;
            }

            if (header.RootElement.ValueKind != JsonValueKind.Object || payload.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Failures.NotObjects;
            }

            if (!JsonStrings.AreWellFormed(header.RootElement) || !JsonStrings.AreWellFormed(payload.RootElement))
            {
                return Failures.BadJson;
            }

            return Check(request, proof.AsSpan(0, headerPart.Length + 1 + payloadPart.Length), signaturePart, header.RootElement, payload.RootElement);
        }
        finally
        {
            header?.Dispose();
            payload?.Dispose();
        }
    }

    private DpopProofResult Check(in DpopProofRequest request, ReadOnlySpan<char> signingInput, ReadOnlySpan<char> signaturePart, JsonElement header, JsonElement payload)
    {
        // Header, in RFC 9449's order: typ, alg, then the key the signature is checked with.
        if (!header.TryGetProperty("typ", out var typ) || typ.ValueKind != JsonValueKind.String
            || !string.Equals(JoseHeader.NormalizeType(typ.GetString()!), ProofType, StringComparison.OrdinalIgnoreCase))
        {
            return Failures.WrongType;
        }

        if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String)
        {
            return Failures.NoAlgorithm;
        }

        var algorithm = alg.GetString()!;
        if (!JwsAlgorithms.IsSupported(algorithm) || !_algorithms.Contains(algorithm))
        {
            return algorithm.Equals("none", StringComparison.OrdinalIgnoreCase) ? Failures.AlgorithmNone
                : algorithm.StartsWith("HS", StringComparison.OrdinalIgnoreCase) ? Failures.AlgorithmSymmetric
                : Failures.AlgorithmNotAllowed(_settings.Algorithms);
        }

        if (header.TryGetProperty("crit", out _))
        {
            return Failures.Critical;
        }

        if (!header.TryGetProperty("jwk", out var jwk) || jwk.ValueKind != JsonValueKind.Object)
        {
            return Failures.NoKey;
        }

        // A client that sends its private key has lost it: whoever saw the request can sign as the client.
        if (DpopProofKey.HasPrivateMembers(jwk))
        {
            return Failures.PrivateKey;
        }

        var thumbprint = DpopProofKey.Thumbprint(jwk);
        if (thumbprint is null)
        {
            return Failures.UnusableKey;
        }

        SecurityKey key;
        KeyFamily family;
        try
        {
            (family, key) = Jwk.ReadEmbeddedPublic(jwk, "jwk");
        }
        catch (FormatException)
        {
            return Failures.UnusableKey;
        }

        try
        {
            if (JwsAlgorithms.FamilyOf(algorithm) != family)
            {
                return Failures.KeyNotForAlgorithm;
            }

            if (!VerifySignature(key, algorithm, signingInput, signaturePart))
            {
                return Failures.SignatureInvalid;
            }
        }
        finally
        {
            Jwk.DisposeKey(key);
        }

        return CheckClaims(request, payload, thumbprint);
    }

    private DpopProofResult CheckClaims(in DpopProofRequest request, JsonElement payload, string thumbprint)
    {
        if (!payload.TryGetProperty("jti", out var jtiElement))
        {
            return Failures.MissingClaim("jti");
        }

        if (jtiElement.ValueKind != JsonValueKind.String || jtiElement.GetString() is not { Length: > 0 and <= MaxJtiLength } jti)
        {
            return Failures.InvalidJti;
        }

        if (!payload.TryGetProperty("htm", out var htm))
        {
            return Failures.MissingClaim("htm");
        }

        // Methods are case-sensitive (RFC 9110 section 9.1): 'get' is not GET.
        if (htm.ValueKind != JsonValueKind.String || !htm.ValueEquals(request.Method))
        {
            return Failures.MethodMismatch;
        }

        if (!payload.TryGetProperty("htu", out var htu))
        {
            return Failures.MissingClaim("htu");
        }

        if (htu.ValueKind != JsonValueKind.String || DpopUri.Normalize(htu.GetString()) is not { } proofUri)
        {
            return Failures.InvalidUri;
        }

        if (request.RequestUri is null || !string.Equals(proofUri, request.RequestUri, StringComparison.Ordinal))
        {
            return Failures.UriMismatch;
        }

        if (!payload.TryGetProperty("iat", out var iatElement))
        {
            return Failures.MissingClaim("iat");
        }

        if (iatElement.ValueKind != JsonValueKind.Number || !iatElement.TryGetDouble(out var iatSeconds) || !double.IsFinite(iatSeconds))
        {
            return Failures.InvalidIat;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        if (iatSeconds > now + _settings.ClockSkew.TotalSeconds)
        {
            return Failures.IssuedInFuture;
        }

        if (now - iatSeconds > _settings.IatWindow.TotalSeconds)
        {
            return Failures.Stale;
        }

        // ath is required: the gateway only ever sees proofs presented with an access token.
        if (!payload.TryGetProperty("ath", out var ath))
        {
            return Failures.MissingClaim("ath");
        }

        if (ath.ValueKind != JsonValueKind.String || !ath.ValueEquals(TokenHash(request.AccessToken)))
        {
            return Failures.TokenHashMismatch;
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(thumbprint), Encoding.ASCII.GetBytes(request.ExpectedThumbprint)))
        {
            return Failures.KeyMismatch;
        }

        // Last: a client told to fetch a nonce should be told only when that is all that is wrong.
        if (_settings.RequireNonce)
        {
            if (!payload.TryGetProperty("nonce", out var nonce) || nonce.ValueKind != JsonValueKind.String
                || !_nonces!.IsFresh(nonce.GetString(), _settings.NonceLifetime, _settings.ClockSkew))
            {
                return Failures.UseNonce;
            }
        }

        return DpopProofResult.Success(jti, thumbprint);
    }

    /// <summary>RFC 9449 <c>ath</c>: base64url SHA-256 of the ASCII access token.</summary>
    public static string TokenHash(string accessToken)
    {
        ArgumentNullException.ThrowIfNull(accessToken);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.ASCII.GetBytes(accessToken), hash);
        return Base64Url.EncodeToString(hash);
    }

    private static bool TrySplit(string proof, out ReadOnlySpan<char> header, out ReadOnlySpan<char> payload, out ReadOnlySpan<char> signature)
    {
        header = payload = signature = default;
        var span = proof.AsSpan();
        var first = span.IndexOf('.');
        if (first <= 0)
        {
            return false;
        }

        var second = span[(first + 1)..].IndexOf('.');
        if (second <= 0)
        {
            return false;
        }

        second += first + 1;
        header = span[..first];
        payload = span[(first + 1)..second];
        signature = span[(second + 1)..];

        // Only the base64url alphabet: no padding, whitespace or a fourth dot, nothing a lenient decoder would skip.
        return !signature.IsEmpty
            && !header.ContainsAnyExcept(JwsCharacters)
            && !payload.ContainsAnyExcept(JwsCharacters)
            && !signature.ContainsAnyExcept(JwsCharacters);
    }

    private static bool VerifySignature(SecurityKey key, string algorithm, ReadOnlySpan<char> signingInput, ReadOnlySpan<char> signaturePart)
    {
        byte[] signature;
        try
        {
            signature = Base64Url.DecodeFromChars(signaturePart);
        }
        catch (FormatException)
        {
            return false;
        }

        var input = new byte[signingInput.Length];
        Encoding.ASCII.GetBytes(signingInput, input);
        return DpopProofKey.Verify(key, algorithm, input, signature);
    }

    /// <summary>Every refusal worded once; descriptions name claims and headers, never their values.</summary>
    private static class Failures
    {
        public static readonly DpopProofResult Missing = Fail(DpopFailureReasons.MissingProof, "The token is sent with 'Authorization: DPoP' but the request has no 'DPoP' proof header; send one proof made for this request.");
        public static readonly DpopProofResult Multiple = Fail(DpopFailureReasons.MultipleProofs, "The request carries more than one 'DPoP' header; send exactly one proof.");
        public static readonly DpopProofResult TooLarge = Fail(DpopFailureReasons.TooLarge, $"The DPoP proof is longer than {MaxProofLength / 1024} KiB.");
        public static readonly DpopProofResult NotCompactJws = Fail(DpopFailureReasons.Malformed, "The DPoP proof is not a compact JWS (three base64url parts separated by dots).");
        public static readonly DpopProofResult BadJson = Fail(DpopFailureReasons.Malformed, "The DPoP proof's header or payload is not valid base64url-encoded JSON (duplicate member names are refused too).");
        public static readonly DpopProofResult NotObjects = Fail(DpopFailureReasons.Malformed, "The DPoP proof's header and payload must be JSON objects.");
        public static readonly DpopProofResult Critical = Fail(DpopFailureReasons.Malformed, "The DPoP proof header has 'crit'; the gateway understands no critical extensions.");
        public static readonly DpopProofResult WrongType = Fail(DpopFailureReasons.WrongType, "The DPoP proof's 'typ' must be 'dpop+jwt' (RFC 9449); another kind of JWT cannot serve as a proof.");
        public static readonly DpopProofResult NoAlgorithm = Fail(DpopFailureReasons.AlgorithmNotAllowed, "The DPoP proof header has no 'alg'.");
        public static readonly DpopProofResult AlgorithmNone = Fail(DpopFailureReasons.AlgorithmNotAllowed, "Unsigned DPoP proofs ('alg' none) are never accepted.");
        public static readonly DpopProofResult AlgorithmSymmetric = Fail(DpopFailureReasons.AlgorithmNotAllowed, "DPoP proofs must be signed with an asymmetric key; 'alg' HS* is never accepted.");
        public static readonly DpopProofResult NoKey = Fail(DpopFailureReasons.InvalidKey, "The DPoP proof header has no 'jwk' object holding the public key it is signed with.");
        public static readonly DpopProofResult PrivateKey = Fail(DpopFailureReasons.InvalidKey, "The DPoP proof's 'jwk' contains private key members; send only the public key, and treat this key as compromised.");
        public static readonly DpopProofResult UnusableKey = Fail(DpopFailureReasons.InvalidKey, "The DPoP proof's 'jwk' is not a usable public key (EC P-256, RSA of 2048 to 4096 bits, or OKP Ed25519).");
        public static readonly DpopProofResult KeyNotForAlgorithm = Fail(DpopFailureReasons.InvalidKey, "The DPoP proof's 'jwk' cannot be used with its 'alg'.");
        public static readonly DpopProofResult SignatureInvalid = Fail(DpopFailureReasons.SignatureInvalid, "The DPoP proof's signature does not verify with the key in its 'jwk' header.");
        public static readonly DpopProofResult InvalidJti = Fail(DpopFailureReasons.InvalidClaim, $"The DPoP proof's 'jti' must be a non-empty string of at most {MaxJtiLength} characters.");
        public static readonly DpopProofResult MethodMismatch = Fail(DpopFailureReasons.MethodMismatch, "The DPoP proof's 'htm' is not this request's method; make a new proof for each request.");
        public static readonly DpopProofResult InvalidUri = Fail(DpopFailureReasons.InvalidClaim, "The DPoP proof's 'htu' is not an absolute http(s) URI.");
        public static readonly DpopProofResult UriMismatch = Fail(DpopFailureReasons.UriMismatch, "The DPoP proof's 'htu' is not this request's URI (compared without query and fragment); make a new proof for each request.");
        public static readonly DpopProofResult InvalidIat = Fail(DpopFailureReasons.InvalidClaim, "The DPoP proof's 'iat' is not a NumericDate (seconds since 1970 as a JSON number).");
        public static readonly DpopProofResult IssuedInFuture = Fail(DpopFailureReasons.IssuedInFuture, "The DPoP proof's 'iat' is in the future; check the client's clock.");
        public static readonly DpopProofResult Stale = Fail(DpopFailureReasons.Stale, "The DPoP proof is too old ('iat'); make a fresh proof for each request.");
        public static readonly DpopProofResult TokenHashMismatch = Fail(DpopFailureReasons.TokenHashMismatch, "The DPoP proof's 'ath' is not the SHA-256 hash of the access token sent with it.");
        public static readonly DpopProofResult KeyMismatch = Fail(DpopFailureReasons.KeyMismatch, "The DPoP proof is signed with a key other than the one the token is bound to ('cnf.jkt').");
        public static readonly DpopProofResult UseNonce = Fail(DpopFailureReasons.UseNonce, "This gateway requires a server nonce in DPoP proofs; make a new proof with the 'nonce' from the 'DPoP-Nonce' response header.");

        public static DpopProofResult MissingClaim(string name) => name switch
        {
            "jti" => MissingJti,
            "htm" => MissingHtm,
            "htu" => MissingHtu,
            "iat" => MissingIat,
            _ => MissingAth,
        };

        public static DpopProofResult AlgorithmNotAllowed(IReadOnlyList<string> allowed) =>
            Fail(DpopFailureReasons.AlgorithmNotAllowed, $"The DPoP proof's 'alg' is not accepted; this gateway accepts {string.Join(", ", allowed)}.");

        private static readonly DpopProofResult MissingJti = MissingClaimResult("jti");
        private static readonly DpopProofResult MissingHtm = MissingClaimResult("htm");
        private static readonly DpopProofResult MissingHtu = MissingClaimResult("htu");
        private static readonly DpopProofResult MissingIat = MissingClaimResult("iat");
        private static readonly DpopProofResult MissingAth = MissingClaimResult("ath");

        private static DpopProofResult MissingClaimResult(string name) =>
            Fail(DpopFailureReasons.MissingClaim, $"The DPoP proof has no '{name}' claim, which RFC 9449 requires.");

        private static DpopProofResult Fail(string reason, string description) => DpopProofResult.Fail(reason, description);
    }
}
