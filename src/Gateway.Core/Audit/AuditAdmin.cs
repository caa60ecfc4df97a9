namespace Gateway.Audit;

/// <summary>
/// The <c>admin</c> member (an extension to the contract's fields): what an admin action did and
/// which admin key did it, by a short digest, never the key.
/// </summary>
public sealed record AuditAdmin
{
    /// <summary>What was done, e.g. <c>revocation.create</c>, <c>approval.approve</c>, <c>audit.dropped</c>.</summary>
    public required string Action { get; init; }

    /// <summary>What it was done to, e.g. <c>jti:abc</c> or an approval id; null when nothing in particular.</summary>
    public string? Target { get; init; }

    /// <summary>
    /// <c>key_id</c>: the admin API's id of the key that acted (<see cref="Admin.AdminKeyAuthenticator.KeyIdOf"/>,
    /// a digest of the key's SHA-256, so it cannot be matched against <c>admin.key_sha256</c>). Null when no
    /// admin key was involved.
    /// </summary>
    public string? KeyId { get; init; }
}
