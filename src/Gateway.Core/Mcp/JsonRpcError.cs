namespace Gateway.Mcp;

/// <summary>
/// Why a JSON-RPC body or one of its messages was refused: the JSON-RPC <see cref="Code"/> to answer with, a stable
/// snake_case <see cref="Reason"/> for audit events and tests, and a <see cref="Message"/> a person can act on.
/// </summary>
public sealed record JsonRpcError(int Code, string Reason, string Message)
{
    /// <summary>JSON-RPC 2.0: invalid JSON was received.</summary>
    public const int ParseErrorCode = -32700;

    /// <summary>JSON-RPC 2.0: the JSON sent is not a valid request object.</summary>
    public const int InvalidRequestCode = -32600;

    /// <summary>JSON-RPC 2.0: invalid method parameters.</summary>
    public const int InvalidParamsCode = -32602;

    /// <summary>JSON-RPC 2.0: internal error (used when an upstream answer cannot be filtered safely).</summary>
    public const int InternalErrorCode = -32603;

    /// <summary>The gateway's refusal of an allowed-to-parse message (contract: budgets, approvals, unlisted tools).</summary>
    public const int GatewayRefusalCode = -32001;

    /// <summary>MCP 2026-07-28 <c>HeaderMismatch</c>: headers disagree with the body, or required ones are missing.</summary>
    public const int HeaderMismatchCode = -32020;

    internal static JsonRpcError Parse(string reason, string message) => new(ParseErrorCode, reason, message);

    internal static JsonRpcError Invalid(string reason, string message) => new(InvalidRequestCode, reason, message);

    internal static JsonRpcError Params(string reason, string message) => new(InvalidParamsCode, reason, message);
}
