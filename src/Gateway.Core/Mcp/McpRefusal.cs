namespace Gateway.Mcp;

/// <summary>
/// A gateway refusal answered inside JSON-RPC (contract: checks 8-11 and unlisted tools), so the session stays usable:
/// code -32001 with these members as <c>data</c>. <see cref="Detail"/> is also the error's <c>message</c>.
/// </summary>
public sealed record McpRefusal(string Error, string Detail, string DecisionId)
{
    /// <summary>The pending approval a person must grant (<c>approval_required</c>).</summary>
    public string? ApprovalId { get; init; }

    /// <summary>Where that person approves it.</summary>
    public string? ApprovalUrl { get; init; }

    /// <summary>Seconds until a retry can succeed, when waiting helps.</summary>
    public long? RetryAfter { get; init; }
}
