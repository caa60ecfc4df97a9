using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Gateway.Dpop;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Enforcement;

/// <summary>
/// Check 4 of the decision: a sender-constrained token is usable only by its holder. A token bound to a client
/// certificate (<c>cnf.x5t#S256</c>, RFC 8705) needs that certificate on the TLS connection; a token bound to a
/// DPoP key (<c>cnf.jkt</c>, RFC 9449) needs <c>Authorization: DPoP</c> and a fresh, once-only proof signed by
/// that key; under <c>sender_constraint: required</c> an unbound token is refused. A stolen token is then
/// useless without the key or certificate that stayed with its holder.
/// </summary>
public sealed partial class SenderConstraintCheck
{
    private static readonly TimeSpan StoreRetry = TimeSpan.FromSeconds(1);

    private readonly IDpopReplayStore _replay;
    private readonly IDpopReplayStore _local;
    private readonly DpopNonces _nonces;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Compiled? _compiled;

    /// <param name="replay">The shared replay store (Redis when the gateway runs several replicas).</param>
    /// <param name="local">
    /// Where proofs are remembered while the shared store is unreachable and <c>on_store_failure</c> lets the
    /// route go on: replay is then refused per replica, never not at all.
    /// </param>
    /// <param name="nonces">Issues and checks server nonces (used when <c>gateway.dpop.require_nonce</c>).</param>
    /// <param name="time">The clock for proofs and nonces.</param>
    /// <param name="logger">Logs store outages (decision ids and routes only).</param>
    public SenderConstraintCheck(IDpopReplayStore replay, IDpopReplayStore local, DpopNonces nonces, TimeProvider time, ILogger<SenderConstraintCheck>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(nonces);
        ArgumentNullException.ThrowIfNull(time);
        _replay = replay;
        _local = local;
        _nonces = nonces;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>One process, in memory: for <c>gateway explain</c>, benchmarks and single-replica tests.</summary>
    public static SenderConstraintCheck InMemory(TimeProvider time)
    {
        var store = new InMemoryDpopReplayStore(time);
        return new SenderConstraintCheck(store, store, DpopNonces.WithRandomKey(time), time);
    }

    /// <summary>
    /// Null when the request passes check 4; otherwise <paramref name="decision"/>, refused (or, on a shadow-mode
    /// route, marked <c>shadow_deny</c>). Completes synchronously unless the replay store has to be awaited.
    /// </summary>
    /// <param name="context">The request: its <c>DPoP</c> header, method, URI and TLS client certificate.</param>
    /// <param name="decision">The decision being made.</param>
    /// <param name="route">The matched route (its policy's <c>gateway.dpop</c> and <c>sender_constraint</c>).</param>
    /// <param name="token">The validated token.</param>
    /// <param name="accessToken">The token as sent (for the proof's <c>ath</c>); a slice of the header, copied only for a DPoP proof.</param>
    /// <param name="dpopScheme">True when it was sent as <c>Authorization: DPoP</c>.</param>
    public ValueTask<AuthorizationDecision?> CheckAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute route, CapabilityToken token, ReadOnlyMemory<char> accessToken, bool dpopScheme)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(token);

        var gateway = route.Snapshot.Policy.Gateway;

        // RFC 8705 section 3: the certificate of this connection must be the one the token was issued for.
        if (token.ConfirmationX5tS256 is { } x5t && CertificateProblem(context.Connection.ClientCertificate, x5t) is { } problem)
        {
            return Refused(decision, route, GatewayError.InvalidToken, problem, CertificateMismatch);
        }

        if (!dpopScheme)
        {
            // RFC 9449 section 7.2: a DPoP-bound token presented as a bearer token must be refused, or binding
            // would be undone by simply changing the scheme.
            if (token.ConfirmationJkt is not null)
            {
                return RefusedProof(decision, route, gateway.Dpop, DpopFailureReasons.BoundTokenAsBearer,
                    "This token is bound to a DPoP key ('cnf.jkt'); send it as 'Authorization: DPoP TOKEN' with a DPoP proof, not as Bearer.");
            }

            if (gateway.SenderConstraint == SenderConstraint.Required && token.ConfirmationX5tS256 is null)
            {
                return RefusedProof(decision, route, gateway.Dpop, DpopFailureReasons.SenderConstraintRequired,
                    "This gateway accepts only sender-constrained tokens; ask the issuer for a token bound to your DPoP key ('cnf.jkt') and send it with a DPoP proof.");
            }

            return new((AuthorizationDecision?)null);
        }

        // The DPoP scheme claims a binding; a token without one would pass a proof by any key at all, so the
        // client (or whoever sent it) is told rather than left to believe the token is protected.
        if (token.ConfirmationJkt is not { } jkt)
        {
            return RefusedProof(decision, route, gateway.Dpop, DpopFailureReasons.TokenNotBound,
                "The token is sent with 'Authorization: DPoP' but is not bound to a DPoP key (no 'cnf.jkt'); send it as 'Authorization: Bearer', or ask the issuer for a DPoP-bound token.");
        }

        var settings = gateway.Dpop;
        var validator = ValidatorFor(settings);
        var request = context.Request;
        var result = validator.Validate(new DpopProofRequest(
            request.Headers[GatewayHeaders.DPoP], request.Method, DpopUri.ForRequest(request, settings.PublicBaseUrl), accessToken.ToString(), jkt));
        if (settings.RequireNonce)
        {
            // A fresh nonce on every answer, so a client always holds one that is still good for its next proof.
            decision.DpopNonce = _nonces.Issue();
        }

        if (!result.IsValid)
        {
            return RefusedProof(decision, route, result.Reason, result.Description, validator);
        }

        // Checked last, after everything else passed: a proof that fails another check must not use up its jti.
        var lifetime = settings.IatWindow + settings.ClockSkew;
        ValueTask<bool> pending;
        try
        {
            pending = _replay.TryAcceptAsync(result.Thumbprint, result.Jti, lifetime, context.RequestAborted);
        }
        catch (DpopReplayStoreUnavailableException ex)
        {
            return new(StoreUnavailableAsync(decision, route, result, lifetime, ex, context.RequestAborted));
        }

        if (pending.IsCompletedSuccessfully)
        {
            return pending.Result ? new((AuthorizationDecision?)null) : Replayed(decision, route, validator);
        }

        return AwaitReplayAsync(decision, route, result, lifetime, pending, validator, context.RequestAborted);
    }

    private const string CertificateMismatch = "certificate_mismatch";

    /// <summary>RFC 8705 <c>x5t#S256</c>: base64url SHA-256 of the certificate's DER encoding.</summary>
    public static string CertificateThumbprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Base64Url.EncodeToString(SHA256.HashData(certificate.RawData));
    }

    private static string? CertificateProblem(X509Certificate2? certificate, string expected)
    {
        if (certificate is null)
        {
            return "This token is bound to a client certificate ('cnf.x5t#S256'); call the gateway over TLS presenting that certificate.";
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(CertificateThumbprint(certificate)), Encoding.ASCII.GetBytes(expected))
            ? null
            : "The client certificate of this connection is not the one the token is bound to ('cnf.x5t#S256').";
    }

    private DpopProofValidator ValidatorFor(DpopSettings settings)
    {
        // Built once per loaded policy: a reload brings new settings, and the next request builds their validator.
        var compiled = Volatile.Read(ref _compiled);
        if (compiled is null || !ReferenceEquals(compiled.Settings, settings))
        {
            compiled = new Compiled(settings, new DpopProofValidator(settings, _nonces, _time));
            Volatile.Write(ref _compiled, compiled);
        }

        return compiled.Validator;
    }

    private async ValueTask<AuthorizationDecision?> AwaitReplayAsync(AuthorizationDecision decision, CompiledRoute route, DpopProofResult result, TimeSpan lifetime, ValueTask<bool> pending, DpopProofValidator validator, CancellationToken cancellationToken)
    {
        bool accepted;
        try
        {
            accepted = await pending;
        }
        catch (DpopReplayStoreUnavailableException ex)
        {
            return await StoreUnavailableAsync(decision, route, result, lifetime, ex, cancellationToken);
        }

        return accepted ? null : await Replayed(decision, route, validator);
    }

    private async Task<AuthorizationDecision?> StoreUnavailableAsync(AuthorizationDecision decision, CompiledRoute route, DpopProofResult result, TimeSpan lifetime, DpopReplayStoreUnavailableException exception, CancellationToken cancellationToken)
    {
        var gateway = route.Snapshot.Policy.Gateway;
        if (gateway.OnStoreFailure == StoreFailureMode.AllowBelowTier && IsAtOrBelow(route, gateway.AllowBelowTier))
        {
            LogDegraded(_logger, decision.DecisionId, route.Id, exception.Message);
            decision.Degraded = true;
            return await _local.TryAcceptAsync(result.Thumbprint!, result.Jti!, lifetime, cancellationToken)
                ? null
                : await Replayed(decision, route, ValidatorFor(gateway.Dpop));
        }

        LogUnavailable(_logger, decision.DecisionId, route.Id, exception.Message);
        decision.RetryAfter = StoreRetry;
        return AuthorizationEvaluator.Refuse(decision, route, GatewayError.PolicyStoreUnavailable,
            "The gateway cannot reach its DPoP replay store, so it cannot tell whether this proof was used before; retry shortly with a new proof.", "store_unavailable");
    }

    private static ValueTask<AuthorizationDecision?> Replayed(AuthorizationDecision decision, CompiledRoute route, DpopProofValidator validator) =>
        RefusedProof(decision, route, DpopFailureReasons.Replayed,
            "This DPoP proof was already used; make a new proof (with a new 'jti') for every request.", validator);

    private ValueTask<AuthorizationDecision?> RefusedProof(AuthorizationDecision decision, CompiledRoute route, DpopSettings settings, string reason, string detail) =>
        RefusedProof(decision, route, reason, detail, ValidatorFor(settings));

    // Every DPoP refusal names the algorithms a new proof may use (RFC 9449 section 7.1).
    private static ValueTask<AuthorizationDecision?> RefusedProof(AuthorizationDecision decision, CompiledRoute route, string reason, string detail, DpopProofValidator validator) =>
        Refused(decision, route, GatewayError.InvalidDpopProof, detail, reason, validator.AlgorithmsChallenge);

    private static ValueTask<AuthorizationDecision?> Refused(AuthorizationDecision decision, CompiledRoute route, GatewayError error, string detail, string reason, string? challenge = null) =>
        new(AuthorizationEvaluator.Refuse(decision, route, error, detail, reason, challenge));

    private static bool IsAtOrBelow(CompiledRoute route, string? tier) =>
        tier is not null && route.Snapshot.Policy.Tiers.TryGetValue(tier, out var limit) && route.Tier.Rank <= limit.Rank;

    private sealed record Compiled(DpopSettings Settings, DpopProofValidator Validator);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Decision {DecisionId}: DPoP replay store unavailable on route {Route}, refused with 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string decisionId, string route, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Decision {DecisionId}: DPoP replay store unavailable on route {Route}; proof checked against this replica only, as on_store_failure allows: {Reason}")]
    private static partial void LogDegraded(ILogger logger, string decisionId, string route, string reason);
}
