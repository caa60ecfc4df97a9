namespace Gateway.Telemetry;

/// <summary>
/// Tag names of the gateway's metrics. The contract names the dimensions of <c>gateway.decisions</c>
/// plainly (<c>decision</c>, <c>error</c>, <c>route</c>), so metric tags use those words; span attributes
/// carry the <c>gateway.</c> prefix. Every tag has few values (routes come from the policy), never an
/// id of a token, user or agent, which would make a series per caller.
/// </summary>
public static class GatewayMetricTags
{
    public const string Decision = "decision";
    public const string Error = "error";
    public const string Route = "route";

    /// <summary>The route's risk tier from the policy (<c>low</c>, <c>critical</c>, ...).</summary>
    public const string Tier = "tier";

    /// <summary>Audit metrics: the sink (<c>file</c>, <c>redis</c>).</summary>
    public const string Sink = "sink";

    /// <summary>Upstream credential metrics: the upstream's name from the policy.</summary>
    public const string Upstream = "upstream";

    /// <summary>
    /// Upstream credential metrics: <c>header</c>, <c>oauth2_client_credentials</c>, <c>token_exchange</c>,
    /// <c>client_certificate</c>; revocation let-through metrics: <c>jti</c>, <c>agent</c>, <c>sub</c>, <c>client_id</c>.
    /// </summary>
    public const string Kind = "kind";

    /// <summary>Token endpoint requests: <c>success</c> or <c>failure</c>.</summary>
    public const string Outcome = "outcome";
}
