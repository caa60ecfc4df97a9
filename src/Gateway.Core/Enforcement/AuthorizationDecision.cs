using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Enforcement;

/// <summary>
/// The one outcome of evaluating a request: allowed, or refused with one code. Everything the
/// HTTP mapping, the audit event and the span need is here, so they never re-derive it.
/// </summary>
public sealed class AuthorizationDecision
{
    public required string DecisionId { get; init; }
    public GatewayError Error { get; private set; }
    public string? Detail { get; private set; }
    public bool IsAllowed => Error == GatewayError.None;

    /// <summary>True when the route runs in shadow mode and a refusal was recorded but not enforced.</summary>
    public bool IsShadowDenied { get; private set; }

    public CompiledRoute? Route { get; init; }
    public CapabilityToken? Token { get; set; }
    public string? Resource { get; set; }
    public int? StepsRemaining { get; set; }
    public int? RiskRemaining { get; set; }

    /// <summary>Token failure reason (<c>expired</c>, <c>signature_invalid</c>, <c>revoked</c>, ...).</summary>
    public string? Reason { get; private set; }

    /// <summary>Extra <c>WWW-Authenticate</c> parameters (RFC 9470 <c>acr_values</c>, <c>max_age</c>).</summary>
    public string? ChallengeParameters { get; private set; }

    public TimeSpan? RetryAfter { get; set; }

    /// <summary>
    /// Lowercase hex SHA-256 of the request body for the audit event: taken by an approval when one read the body,
    /// else as the body streams to the upstream, or by the refusal; null when the request carried no body bytes.
    /// </summary>
    public string? BodySha256 { get; set; }

    /// <summary>
    /// The index in the token's <c>authorization_details</c> of the entry that put the call in scope (check 6); null when the
    /// decision did not get that far or no entry did.
    /// </summary>
    public int? GrantIndex { get; set; }

    /// <summary>The caller's prompt and conversation claims, read before the <c>Gateway-*</c> headers are stripped.</summary>
    public CallerLinks CallerLinks { get; set; }

    /// <summary>What the upstream answered, once the forwarded call is over; null for a call not forwarded.</summary>
    public Audit.AuditOutcome? ForwardedOutcome { get; set; }

    /// <summary>A fresh DPoP server nonce for the <c>DPoP-Nonce</c> response header (RFC 9449 section 8), when the policy requires nonces.</summary>
    public string? DpopNonce { get; set; }

    /// <summary>Allowed while the shared store was unreachable, counted on this replica only (<c>on_store_failure</c>).</summary>
    public bool Degraded { get; set; }
    public string? ApprovalId { get; set; }
    public string? ApprovalUrl { get; set; }

    /// <summary>A human approval of exactly this call was used for it (with <c>on_exceed: approval</c> it may pass the risk limit).</summary>
    public bool Approved { get; set; }

    /// <summary>The wire code of the refusal (or of the unenforced refusal in shadow mode); empty when allowed.</summary>
    public string ErrorCode => (IsShadowDenied ? ShadowError : Error).ToCode();

    /// <summary>The wire word: <c>allow</c>, <c>deny</c> or <c>shadow_deny</c>.</summary>
    public string Outcome => IsAllowed ? (IsShadowDenied ? "shadow_deny" : "allow") : "deny";

    public AuthorizationDecision Refuse(GatewayError error, string detail, string? reason = null, string? challenge = null)
    {
        Error = error;
        Detail = detail;
        Reason = reason;
        ChallengeParameters = challenge;
        return this;
    }

    /// <summary>
    /// A decision for one message of an MCP request, on its <paramref name="target"/>: the token and what checks 1-5
    /// found carry over; the outcome is the message's own. <paramref name="decisionId"/> reuses the request's decision
    /// id when the request carries this one message only.
    /// </summary>
    internal AuthorizationDecision ForTarget(CompiledRoute target, string? decisionId = null) => new()
    {
        DecisionId = decisionId ?? DecisionIds.Next(),
        Route = target,
        Token = Token,
        DpopNonce = DpopNonce,
        ResourceMetadata = ResourceMetadata,
        BodySha256 = BodySha256,
    };

    /// <summary>Undoes a refusal that an approval now lifts (a risk-budget refusal of an MCP call whose approval was granted).</summary>
    internal void ClearRefusal()
    {
        Error = GatewayError.None;
        Detail = null;
        Reason = null;
        ChallengeParameters = null;
        RetryAfter = null;
    }

    /// <summary>Records the refusal a shadow-mode route would have made, and lets the call go on.</summary>
    public AuthorizationDecision ShadowDeny(GatewayError error, string detail, string? reason = null)
    {
        IsShadowDenied = true;
        ShadowError = error;
        Detail = detail;
        Reason = reason;
        return this;
    }

    /// <summary>The credential presented (or that could not be had) for the upstream; its kind and id go to the audit event and span.</summary>
    public Upstreams.UpstreamCredential? Credential { get; set; }

    /// <summary>
    /// An allowed call, shadow-refused or not, whose upstream credential cannot be had: it is refused for real,
    /// since forwarding it without the credential would send the upstream an unauthenticated call.
    /// </summary>
    public AuthorizationDecision CredentialsUnavailable(string detail, TimeSpan retryAfter)
    {
        IsShadowDenied = false;
        ShadowError = GatewayError.None;
        RetryAfter = retryAfter;
        return Refuse(GatewayError.UpstreamCredentialsUnavailable, detail, "credential_unavailable");
    }

    /// <summary>The RFC 9728 metadata URL a challenge names (<c>resource_metadata</c>), on MCP routes.</summary>
    public string? ResourceMetadata { get; set; }

    /// <summary>The scope an <c>insufficient_scope</c> challenge asks for (MCP's scope challenge: the target's action).</summary>
    public string? RequiredScope { get; set; }

    /// <summary>The MCP message this decision is about (its method, target, id and arguments digest); null for REST calls.</summary>
    public Mcp.McpMessageInfo? Mcp { get; set; }

    /// <summary>In shadow mode: the refusal that was not enforced.</summary>
    public GatewayError ShadowError { get; private set; }
}
