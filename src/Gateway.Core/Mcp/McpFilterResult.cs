namespace Gateway.Mcp;

/// <summary>What the <c>tools/list</c> filter did to one answer.</summary>
public enum McpFilterOutcome
{
    /// <summary>Nothing to remove: send the original bytes.</summary>
    Unchanged,

    /// <summary>Tools were removed: send <see cref="McpFilterResult.Body"/>.</summary>
    Filtered,

    /// <summary>The answer cannot be read safely (not JSON, a repeated member, <c>tools</c> not an array, too large):
    /// it must not reach the agent, which might read tools the filter could not.</summary>
    Refused,
}

/// <summary>The filter's outcome, the new body when it changed, how many tools were removed, and why a refusal.</summary>
public readonly record struct McpFilterResult(McpFilterOutcome Outcome, byte[]? Body, int Removed, string? Reason)
{
    internal static McpFilterResult Unchanged => new(McpFilterOutcome.Unchanged, null, 0, null);

    internal static McpFilterResult Refuse(string reason) => new(McpFilterOutcome.Refused, null, 0, reason);
}
