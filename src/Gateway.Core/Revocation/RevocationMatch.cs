namespace Gateway.Revocation;

/// <summary>Why a token is revoked: the rule, and the claim of the token its value was found in.</summary>
public sealed record RevocationMatch(RevocationRule Rule, RevokedClaim Claim)
{
    /// <summary>
    /// A sentence for the 401's <c>detail</c>. It names the rule id, which an operator can look up in
    /// <c>GET /revocations</c>, but neither the reason (it may be internal) nor any claim value.
    /// </summary>
    public string Describe() => Claim switch
    {
        RevokedClaim.Jti => $"This token has been revoked (rule {Rule.Id}).",
        RevokedClaim.Chain => $"A token this one was delegated from has been revoked (rule {Rule.Id}).",
        RevokedClaim.Agent => $"The calling agent's tokens have been revoked (rule {Rule.Id}).",
        RevokedClaim.Actor => $"An agent earlier in this token's delegation chain has been revoked (rule {Rule.Id}).",
        RevokedClaim.Subject => $"Tokens for this user have been revoked (rule {Rule.Id}).",
        RevokedClaim.ClientId => $"Tokens of this agent runtime (client_id) have been revoked (rule {Rule.Id}).",
        _ => $"This token has been revoked (rule {Rule.Id}).",
    };
}

/// <summary>Where in the token a <see cref="RevocationMatch"/> found the rule's value.</summary>
public enum RevokedClaim
{
    /// <summary>The token's own <c>jti</c>.</summary>
    Jti,

    /// <summary>An ancestor's <c>jti</c> in <c>cap.chain</c>.</summary>
    Chain,

    /// <summary>The calling agent, the outermost <c>act.sub</c>.</summary>
    Agent,

    /// <summary>An earlier hop of <c>act</c>.</summary>
    Actor,

    /// <summary><c>sub</c>.</summary>
    Subject,

    /// <summary><c>client_id</c>.</summary>
    ClientId,
}
