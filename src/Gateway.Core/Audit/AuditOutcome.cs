namespace Gateway.Audit;

/// <summary>
/// The <c>outcome</c> member of a forwarded call: what the upstream answered and what of it reached the client,
/// as a digest and a count, never the body.
/// </summary>
public sealed record AuditOutcome
{
    /// <summary><c>status</c>: the upstream's HTTP status; null when no answer came (unreachable, timed out).</summary>
    public int? Status { get; init; }

    /// <summary><c>bytes</c>: response body bytes passed to the client's connection (a client cut off may have got fewer, never more).</summary>
    public long Bytes { get; init; }

    /// <summary>
    /// <c>body_sha256</c>: lowercase hex SHA-256 of exactly those <see cref="Bytes"/>, taken as they streamed;
    /// null when no body byte was written (as <c>request.body_sha256</c>).
    /// </summary>
    public string? BodySha256 { get; init; }

    /// <summary><c>duration_ms</c>: from handing the request to the forwarder until the response body ended or broke off.</summary>
    public long DurationMs { get; init; }

    /// <summary><c>complete</c>: false when the client did not get the whole response (it went away, the upstream broke off, a length fell short).</summary>
    public bool Complete { get; init; }

    /// <summary>
    /// Extension <c>error</c>: what broke the call, in the forwarder's words (<c>request</c>, <c>response_body_client</c>,
    /// <c>response_body_destination</c>, ...), or <c>incomplete</c> when the body fell short of its
    /// <c>Content-Length</c>; null when nothing did.
    /// </summary>
    public string? Error { get; init; }
}
