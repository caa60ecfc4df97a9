namespace Gateway.Audit;

/// <summary>The <c>request</c> member: what was asked, with the body as a digest only.</summary>
public sealed record AuditRequest
{
    public required string Method { get; init; }

    /// <summary>The path as received (no query string: it may carry data the audit must not keep).</summary>
    public required string Path { get; init; }

    /// <summary><c>body_sha256</c>: lowercase hex SHA-256 of the body, or null when there was none.</summary>
    public string? BodySha256 { get; init; }
}
