namespace Gateway.Upstreams;

/// <summary>
/// The header an allowed call's forwarded request must carry, set by the authorization step after the decision and
/// applied by the forwarding transform (<c>GatewayTransforms</c>) to the outgoing copy only.
/// </summary>
internal sealed record UpstreamCredentialFeature(string HeaderName, string HeaderValue);
