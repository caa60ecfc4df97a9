namespace Gateway.Policy;

/// <summary>
/// <c>gateway.dpop</c>: how DPoP proofs (RFC 9449) are judged. Only used for tokens bound with
/// <c>cnf.jkt</c> and, under <c>sender_constraint: required</c>, to refuse unbound ones.
/// </summary>
public sealed record DpopSettings
{
    /// <summary>Accepted proof <c>alg</c> values. Default ES256, EdDSA, RS256, PS256 (none and HS* never).</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = ["ES256", "EdDSA", "RS256", "PS256"];

    /// <summary>How old a proof's <c>iat</c> may be. Default 60 seconds; also how long a proof <c>jti</c> is remembered.</summary>
    public TimeSpan IatWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How far in the future a proof's <c>iat</c> may be (the client's clock running ahead). Default 5 seconds.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Require a server nonce (RFC 9449 section 8) in every proof. Default false.</summary>
    public bool RequireNonce { get; init; }

    /// <summary>How long a nonce the gateway handed out stays acceptable. Default 5 minutes.</summary>
    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The URL clients call the gateway by (scheme, host, optional port and path prefix), when a load
    /// balancer or another proxy sits in front of it. <c>htu</c> is compared with this base plus the
    /// request path. Null (default): the scheme of the connection and the request's <c>Host</c>.
    /// </summary>
    public Uri? PublicBaseUrl { get; init; }
}
