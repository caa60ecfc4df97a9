namespace Gateway.StatusLists;

public enum StatusOutcome
{
    /// <summary>The token's entry is 0x00 VALID.</summary>
    Valid,

    /// <summary>The token's entry is set (INVALID, SUSPENDED or another status): check 3 refuses it as revoked.</summary>
    Revoked,

    /// <summary>The list has no entry at the token's <c>idx</c>: the token is refused, as the draft asks.</summary>
    OutOfRange,

    /// <summary>No usable list (not fetched, not verified, expired): <c>gateway.on_store_failure</c> decides.</summary>
    Unavailable,
}

/// <summary>What a token's status list says about it, with the sentence for a refusal's <c>detail</c>.</summary>
public readonly record struct StatusCheck(StatusOutcome Outcome, string? Detail)
{
    public static StatusCheck Valid { get; } = new(StatusOutcome.Valid, null);
}
