namespace Gateway.Enforcement;

/// <summary>The stable refusal codes of the contract (section 4), plus <see cref="InvalidRequest"/>.</summary>
public enum GatewayError
{
    None = 0,
    NoRoute,
    InvalidToken,
    InvalidDpopProof,
    DelegationDenied,
    InsufficientScope,
    InsufficientUserAuthentication,
    ApprovalRequired,
    StepLimitExceeded,
    RiskBudgetExceeded,
    PolicyStoreUnavailable,

    /// <summary>Not in the contract's table: a request the gateway cannot evaluate safely (a path that could name another resource than the one checked, a resource value missing).</summary>
    InvalidRequest,

    /// <summary>Not in the contract's table: a body too large to digest for an approval (<c>approvals.max_body_bytes</c>).</summary>
    ContentTooLarge,
    /// <summary>Not in the contract's table: a body larger than <c>gateway.max_request_body_bytes</c> (413).</summary>
    RequestTooLarge,

    /// <summary>Contract section 10: an allowed call whose upstream credential cannot be had (503, never forwarded bare).</summary>
    UpstreamCredentialsUnavailable,

    /// <summary>Contract section 9: a tool (resource, prompt) the MCP route does not list; answered as a JSON-RPC error.</summary>
    ToolNotAllowed,

    /// <summary>Contract section 9: MCP headers that disagree with the JSON-RPC body (400, never forwarded).</summary>
    HeaderMismatch,

    /// <summary>Contract section 9: a browser <c>Origin</c> neither loopback nor in <c>mcp.allowed_origins</c> (DNS rebinding).</summary>
    OriginNotAllowed,

    /// <summary>Contract section 9: an <c>Mcp-Session-Id</c> opened by another (<c>sub</c>, <c>agent</c>) pair.</summary>
    SessionMismatch,
}

public static class GatewayErrorExtensions
{
    /// <summary>The wire code (<c>error</c> member of problem+json, audit and span attributes).</summary>
    public static string ToCode(this GatewayError error) => error switch
    {
        GatewayError.None => "",
        GatewayError.NoRoute => "no_route",
        GatewayError.InvalidToken => "invalid_token",
        GatewayError.InvalidDpopProof => "invalid_dpop_proof",
        GatewayError.DelegationDenied => "delegation_denied",
        GatewayError.InsufficientScope => "insufficient_scope",
        GatewayError.InsufficientUserAuthentication => "insufficient_user_authentication",
        GatewayError.ApprovalRequired => "approval_required",
        GatewayError.StepLimitExceeded => "step_limit_exceeded",
        GatewayError.RiskBudgetExceeded => "risk_budget_exceeded",
        GatewayError.PolicyStoreUnavailable => "policy_store_unavailable",
        GatewayError.InvalidRequest => "invalid_request",
        GatewayError.ContentTooLarge => "content_too_large",
        GatewayError.RequestTooLarge => "request_too_large",
        GatewayError.UpstreamCredentialsUnavailable => "upstream_credentials_unavailable",
        GatewayError.ToolNotAllowed => "tool_not_allowed",
        GatewayError.HeaderMismatch => "header_mismatch",
        GatewayError.OriginNotAllowed => "origin_not_allowed",
        GatewayError.SessionMismatch => "session_mismatch",
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, null),
    };

    public static int ToStatusCode(this GatewayError error) => error switch
    {
        GatewayError.None => 200,
        GatewayError.NoRoute => 404,
        GatewayError.InvalidToken or GatewayError.InvalidDpopProof or GatewayError.InsufficientUserAuthentication => 401,
        GatewayError.DelegationDenied or GatewayError.InsufficientScope or GatewayError.ApprovalRequired
            or GatewayError.StepLimitExceeded or GatewayError.RiskBudgetExceeded or GatewayError.ToolNotAllowed
            or GatewayError.OriginNotAllowed or GatewayError.SessionMismatch => 403,
        GatewayError.PolicyStoreUnavailable or GatewayError.UpstreamCredentialsUnavailable => 503,
        GatewayError.InvalidRequest or GatewayError.HeaderMismatch => 400,
        GatewayError.ContentTooLarge => 413,
        GatewayError.RequestTooLarge => 413,
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, null),
    };

    /// <summary>The problem type's short title (RFC 9457 <c>title</c>).</summary>
    public static string ToTitle(this GatewayError error) => error switch
    {
        GatewayError.NoRoute => "No route",
        GatewayError.InvalidToken => "Invalid capability token",
        GatewayError.InvalidDpopProof => "Invalid DPoP proof",
        GatewayError.DelegationDenied => "Delegation denied",
        GatewayError.InsufficientScope => "Insufficient scope",
        GatewayError.InsufficientUserAuthentication => "Step-up authentication required",
        GatewayError.ApprovalRequired => "Approval required",
        GatewayError.StepLimitExceeded => "Step limit exceeded",
        GatewayError.RiskBudgetExceeded => "Risk budget exceeded",
        GatewayError.PolicyStoreUnavailable => "Policy store unavailable",
        GatewayError.InvalidRequest => "Invalid request",
        GatewayError.ContentTooLarge => "Content too large",
        GatewayError.RequestTooLarge => "Request too large",
        GatewayError.UpstreamCredentialsUnavailable => "Upstream credentials unavailable",
        GatewayError.ToolNotAllowed => "Tool not allowed",
        GatewayError.HeaderMismatch => "Header mismatch",
        GatewayError.OriginNotAllowed => "Origin not allowed",
        GatewayError.SessionMismatch => "Session mismatch",
        _ => "Allowed",
    };
}
