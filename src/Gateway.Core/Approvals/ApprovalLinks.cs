using Gateway.Policy;

namespace Gateway.Approvals;

/// <summary>
/// Builds <c>approval_url</c>: <c>approvals.public_url</c> when the policy sets it (the address approvers
/// reach through a proxy or ingress), else the admin listener's own address, known only once it listens.
/// </summary>
public sealed class ApprovalLinks
{
    private static readonly Uri Fallback = new("http://127.0.0.1:9901/");
    private Func<Uri?> _listener = static () => null;

    /// <summary>Where the admin listener listens; read on each link, because it is known only after start.</summary>
    public void UseListener(Func<Uri?> address)
    {
        ArgumentNullException.ThrowIfNull(address);
        _listener = address;
    }

    public string For(ApprovalSettings settings, string id)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var root = settings.PublicUrl ?? Reachable(_listener()) ?? Fallback;
        return root.ToString().TrimEnd('/') + "/approvals/" + Uri.EscapeDataString(id);
    }

    // A wildcard listener (0.0.0.0, [::]) is no address a person can open; name this host instead.
    private static Uri? Reachable(Uri? listener) =>
        listener is { Host: "0.0.0.0" or "[::]" or "::" } ? new UriBuilder(listener) { Host = "localhost" }.Uri : listener;
}
