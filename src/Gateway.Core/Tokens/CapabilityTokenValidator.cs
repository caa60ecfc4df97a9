using System.Buffers;
using System.Buffers.Text;
using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Policy;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tokens;

/// <summary>
/// Validates capability tokens against one loaded policy (docs/tokens.md has every rule). The gateway judges
/// the header, the issuer and the claims itself; IdentityModel's signature provider checks the
/// signature with the one key the header's <c>kid</c> selects from the token's own issuer's JWKS. A policy
/// reload builds a new validator (and so a fresh cache, since audience or issuers may have changed).
/// </summary>
public sealed partial class CapabilityTokenValidator : ITokenValidator
{
    /// <summary>Longest token accepted: 64 KiB, in characters (a JWS is ASCII, so also in bytes).</summary>
    public const int MaxTokenLength = 64 * 1024;

    private static readonly SearchValues<char> JwsCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private static readonly JsonDocumentOptions JsonOptions = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    private readonly GatewaySettings _settings;
    private readonly FrozenDictionary<string, IssuerRules> _issuers;
    private readonly ISigningKeyResolver _keys;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ValidatedTokenCache _cache;
    private readonly TokenDigestMemo _digests = new();
    private readonly (string Issuer, string Uri)? _ownStatusList;

    public CapabilityTokenValidator(
        GatewayPolicy policy,
        ISigningKeyResolver keys,
        TimeProvider timeProvider,
        ILogger<CapabilityTokenValidator> logger,
        TokenValidatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _settings = policy.Gateway;
        _keys = keys;
        _timeProvider = timeProvider;
        _logger = logger;
        _cache = new ValidatedTokenCache((options ?? new TokenValidatorOptions()).CacheSize, timeProvider);

        var issuers = new Dictionary<string, IssuerRules>(StringComparer.Ordinal);
        foreach (var issuer in policy.Issuers)
        {
            if (!issuers.TryAdd(issuer.Issuer, new IssuerRules(issuer)))
            {
                throw new ArgumentException($"Issuer '{issuer.Issuer}' is configured twice.", nameof(policy));
            }
        }

        _issuers = issuers.ToFrozenDictionary(StringComparer.Ordinal);
        if (policy.Delegation is { StatusList: { } own } delegation)
        {
            _ownStatusList = (delegation.Issuer, own.Uri.AbsoluteUri);
        }
    }

    /// <summary>Validated tokens currently cached.</summary>
    internal int CachedCount => _cache.Count;

    public ValueTask<TokenValidationResult> ValidateAsync(string token, CancellationToken cancellationToken) =>
        ValidateAsync(token.AsMemory(), cancellationToken);

    public ValueTask<TokenValidationResult> ValidateAsync(ReadOnlyMemory<char> token, CancellationToken cancellationToken)
    {
        var characters = token.Span;
        if (characters.IsEmpty)
        {
            return new(Refuse(TokenFailures.Empty, issuer: null));
        }

        // Before anything else reads it: the size limit is what bounds the work the rest may do.
        if (characters.Length > MaxTokenLength)
        {
            return new(Refuse(TokenFailures.TooLarge, issuer: null));
        }

        var remembered = _digests.TryGet(token, out var digest);
        if (!remembered && !TokenDigest.TryCompute(characters, out digest))
        {
            return new(Refuse(TokenFailures.NotAscii, issuer: null));
        }

        if (_cache.TryGet(digest, out var cached))
        {
            // Remembered only for a token seen valid before: a stream of new tokens (each validated once)
            // would only fill the memo.
            if (!remembered)
            {
                _digests.Remember(token, digest);
            }

            return new(cached);
        }

        // Only a token that must be checked from scratch gets a string of its own (IdentityModel needs one).
        return ValidateUncachedAsync(token.ToString(), digest, cancellationToken);
    }

    private async ValueTask<TokenValidationResult> ValidateUncachedAsync(string token, TokenDigest digest, CancellationToken cancellationToken)
    {
        var failure = Decode(token, out var headerDocument, out var payloadDocument);
        if (failure is not null)
        {
            return Refuse(failure, issuer: null);
        }

        using (headerDocument)
        using (payloadDocument)
        {
            failure = JoseHeader.TryRead(headerDocument!.RootElement, out var header);
            if (failure is not null)
            {
                return Refuse(failure, issuer: null);
            }

            var payload = payloadDocument!.RootElement;
            if (payload.ValueKind != JsonValueKind.Object)
            {
                return Refuse(TokenFailures.PayloadNotObject, issuer: null);
            }

            // The issuer is read before the signature is checked, only to choose whose keys to check it with;
            // a forged iss just selects keys the forger does not hold.
            if (!payload.TryGetProperty("iss", out var iss))
            {
                return Refuse(TokenFailures.MissingClaim("iss"), issuer: null);
            }

            if (iss.ValueKind != JsonValueKind.String || !_issuers.TryGetValue(iss.GetString()!, out var issuer))
            {
                return Refuse(TokenFailures.UnknownIssuer, issuer: null);
            }

            var issuerName = issuer.Settings.Issuer;
            if (!issuer.Algorithms.Contains(header!.Algorithm))
            {
                return Refuse(TokenFailures.AlgorithmNotForIssuer, issuerName);
            }

            if (!issuer.Types.Contains(JoseHeader.NormalizeType(header.Type)))
            {
                return Refuse(TokenFailures.WrongType, issuerName);
            }

            var lookup = await _keys.FindKeyAsync(issuerName, header.KeyId, cancellationToken).ConfigureAwait(false);
            if (lookup.Status != KeyLookupStatus.Found || lookup.Key is not { } key)
            {
                if (lookup.Status == KeyLookupStatus.KeysUnavailable)
                {
                    return Refuse(TokenFailures.KeysUnavailable, issuerName);
                }

                LogUnknownKey(_logger, issuerName, new LogText(header.KeyId));
                return Refuse(TokenFailures.UnknownKey, issuerName);
            }

            if (!key.CanVerify(header.Algorithm))
            {
                return Refuse(TokenFailures.AlgorithmNotForKey, issuerName);
            }

            // Claims before the signature, as IdentityModel's ValidateSignatureLast does: the checks are cheap
            // and precise, so junk and expired tokens cost no cryptography and each gets its own reason. Nothing
            // from an unverified payload is trusted: the token is accepted only when the signature checks too.
            var rules = new CapabilityTokenReader.Rules(_settings.Audience, _timeProvider.GetUtcNow(), _settings.ClockSkew, _settings.MaxTokenLifetime);
            failure = CapabilityTokenReader.TryRead(payload, issuerName, rules, out var capabilityToken);
            if (failure is not null)
            {
                return Refuse(failure, issuerName);
            }

            // Before anything is fetched for it: the issuer's policy names where its lists live, so a token cannot
            // make the gateway request an address of its choosing.
            if (capabilityToken!.StatusList is { } status && !status.IsUnder(issuer.Settings.StatusLists) && !IsOwnStatusList(issuerName, status))
            {
                return Refuse(TokenFailures.StatusListNotAllowed, issuerName);
            }

            failure = VerifySignature(token, header.Algorithm, key);
            if (failure is not null)
            {
                return Refuse(failure, issuerName);
            }

            var result = TokenValidationResult.Success(capabilityToken!);
            _cache.Add(digest, result, capabilityToken!.Expires);
            Telemetry.GatewayTelemetry.RecordTokenLifetime(capabilityToken.Expires - capabilityToken.IssuedAt);
            return result;
        }
    }

    private static TokenFailure? Decode(string token, out JsonDocument? header, out JsonDocument? payload)
    {
        header = payload = null;
        var span = token.AsSpan();
        var firstDot = span.IndexOf('.');
        var secondDot = firstDot < 0 ? -1 : span[(firstDot + 1)..].IndexOf('.') + firstDot + 1;
        if (firstDot <= 0 || secondDot <= firstDot + 1)
        {
            return TokenFailures.NotCompactJws;
        }

        var signature = span[(secondDot + 1)..];
        var dots = signature.Count('.');
        if (dots > 0)
        {
            // Five parts is the compact JWE form (RFC 7516 section 7.1).
            return dots == 2 ? TokenFailures.Encrypted : TokenFailures.NotCompactJws;
        }

        // Only the base64url alphabet: no padding, no whitespace, nothing a lenient decoder would skip over.
        var headerPart = span[..firstDot];
        var payloadPart = span[(firstDot + 1)..secondDot];
        if (headerPart.ContainsAnyExcept(JwsCharacters) || payloadPart.ContainsAnyExcept(JwsCharacters) || signature.ContainsAnyExcept(JwsCharacters))
        {
            return TokenFailures.NotCompactJws;
        }

        try
        {
            var headerBytes = Base64Url.DecodeFromChars(headerPart);
            var payloadBytes = Base64Url.DecodeFromChars(payloadPart);

            // JsonDocument checks the UTF-8 of a string value only when it is read, and reading it then throws:
            // a token with a broken byte in a claim would fail the request with a 500 instead of a refusal.
            if (!Utf8.IsValid(headerBytes) || !Utf8.IsValid(payloadBytes))
            {
                return TokenFailures.BadJson;
            }

            header = JsonDocument.Parse(headerBytes, JsonOptions);
            payload = JsonDocument.Parse(payloadBytes, JsonOptions);
            if (!JsonStrings.AreWellFormed(header.RootElement) || !JsonStrings.AreWellFormed(payload.RootElement))
            {
                header.Dispose();
                payload.Dispose();
                header = payload = null;
                return TokenFailures.BadJson;
            }

            return null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            header?.Dispose();
            header = null;
            return TokenFailures.BadJson;
        }
    }

    /// <summary>
    /// Only the signature: issuer, audience, lifetime and type were checked above and in CapabilityTokenReader
    /// with the gateway's own rules and reasons, the algorithm is the one already vetted for this key, and
    /// the key is the single one kid selected. <see cref="JwsSignature"/> verifies directly over the signing
    /// input, so the header and claims, already parsed once, are not parsed a second time.
    /// </summary>
    private TokenFailure? VerifySignature(string token, string algorithm, IssuerKey key)
    {
        // Decode checked the alphabet, not the length: a signature part no decoder accepts is a malformed JWS.
        if (!Base64Url.IsValid(token.AsSpan(token.LastIndexOf('.') + 1)))
        {
            return TokenFailures.NotCompactJws;
        }

        if (JwsSignature.Verify(token, algorithm, key, out var error))
        {
            return null;
        }

        LogSignatureRejected(_logger, key.KeyId, error);
        return error is NotSupportedException or SecurityTokenInvalidAlgorithmException ? TokenFailures.AlgorithmNotForKey : TokenFailures.SignatureInvalid;
    }

    /// <summary>The list this gateway publishes for the children it mints (<c>delegation.status_list</c>), named exactly.</summary>
    private bool IsOwnStatusList(string issuer, StatusLists.StatusListReference status) =>
        _ownStatusList is { } own && string.Equals(issuer, own.Issuer, StringComparison.Ordinal) && string.Equals(status.Uri, own.Uri, StringComparison.Ordinal);

    private TokenValidationResult Refuse(TokenFailure failure, string? issuer)
    {
        LogRefused(_logger, failure.Reason, issuer ?? "-");
        return TokenValidationResult.Failed(failure);
    }

    /// <summary>One issuer's settings, compiled for lookups.</summary>
    private sealed class IssuerRules(IssuerSettings settings)
    {
        public IssuerSettings Settings { get; } = settings;

        public FrozenSet<string> Algorithms { get; } = JwsAlgorithms.AllowListOf(settings.Algorithms);

        public FrozenSet<string> Types { get; } = settings.Types.Select(JoseHeader.NormalizeType).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    // Refusals are Debug: the decision pipeline audits and counts every refusal, and at Information a flood
    // of junk tokens would flood the log too. Never the token, never claim values.
    [LoggerMessage(EventId = 1121, Level = LogLevel.Debug, Message = "Token refused: {Reason} (issuer {Issuer})")]
    private static partial void LogRefused(ILogger logger, string reason, string issuer);

    [LoggerMessage(EventId = 1122, Level = LogLevel.Debug, Message = "Issuer {Issuer} has no key {KeyId}")]
    private static partial void LogUnknownKey(ILogger logger, string issuer, LogText keyId);

    // IdentityModel keeps PII out of its exception messages by default (IdentityModelEventSource.ShowPII).
    [LoggerMessage(EventId = 1123, Level = LogLevel.Debug, Message = "Signature check with key {KeyId} failed")]
    private static partial void LogSignatureRejected(ILogger logger, string keyId, Exception? exception);

    /// <summary>An attacker-chosen string for a log line: cut short, and only when the line is actually written.</summary>
    private readonly struct LogText(string value)
    {
        private const int MaxLength = 64;

        public override string ToString() => value.Length <= MaxLength ? value : string.Concat(value.AsSpan(0, MaxLength), "...");
    }
}
