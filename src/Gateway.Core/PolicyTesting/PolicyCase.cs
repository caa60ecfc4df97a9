using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.Revocation;

namespace Gateway.PolicyTesting;

/// <summary>
/// One table-driven policy test (<c>gateway test</c>): a token, a request, the state the stores are in,
/// and the decision expected. Read from a cases file by <see cref="PolicyCaseLoader"/>.
/// </summary>
public sealed record PolicyCase
{
    public required string Name { get; init; }

    /// <summary>Where the case starts in its file: failures are reported here.</summary>
    public required SourceLocation Location { get; init; }

    /// <summary>
    /// The token's claims as JWT claims, to be signed by the runner's own test key; null when
    /// <see cref="TokenFile"/> or <see cref="NoToken"/> is used. Times (<c>iat</c>, <c>exp</c>,
    /// <c>nbf</c>, <c>auth_time</c>) may be strings such as <c>-10m</c>: relative to the run's clock.
    /// </summary>
    public JsonObject? Claims { get; init; }

    /// <summary>A file holding a compact JWS, validated against the policy's real issuer keys.</summary>
    public string? TokenFile { get; init; }

    /// <summary>The request carries no Authorization header at all.</summary>
    public bool NoToken { get; init; }

    public required PolicyCaseRequest Request { get; init; }
    public PolicyCaseState State { get; init; } = new();
    public required PolicyExpectation Expect { get; init; }
}

public sealed record PolicyCaseRequest
{
    public string Method { get; init; } = "GET";

    /// <summary>The path, with an optional query string.</summary>
    public required string Path { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    public string? Body { get; init; }
}

/// <summary>What the stores hold before the call: what is used of the budgets, and the revocation rules in force.</summary>
public sealed record PolicyCaseState
{
    /// <summary>Steps the token has already taken.</summary>
    public int StepsUsed { get; init; }

    /// <summary>Risk points the token's (sub, agent) has already spent in the current window.</summary>
    public int RiskUsed { get; init; }

    public IReadOnlyList<RevocationRequest> Revocations { get; init; } = [];
}

/// <summary>The decision a case expects: <c>allow</c>, <c>deny</c> or <c>shadow_deny</c>, and for a refusal its code and challenge.</summary>
public sealed record PolicyExpectation
{
    /// <summary><c>allow</c>, <c>deny</c> or <c>shadow_deny</c> (the wire words of <c>decision</c>).</summary>
    public required string Decision { get; init; }

    /// <summary>The error code; for <c>shadow_deny</c> the refusal not enforced. Null: any.</summary>
    public string? Error { get; init; }

    /// <summary>Text the <c>WWW-Authenticate</c> answer must contain (such as <c>max_age=300</c>); null: not checked.</summary>
    public string? Challenge { get; init; }

    /// <summary>The refusal's reason (<c>expired</c>, <c>revoked</c>, <c>step_up</c>...); null: not checked.</summary>
    public string? Reason { get; init; }

    public override string ToString() =>
        Error is null ? Decision : $"{Decision} {Error}" + (Reason is null ? "" : $" ({Reason})") + (Challenge is null ? "" : $" with challenge containing '{Challenge}'");
}
