using Microsoft.AspNetCore.Connections;

namespace Gateway.Host.Commands;

/// <summary>
/// Start-up failures a person can fix, said as one sentence naming what to do, instead of the
/// host's stack trace (a second <c>gateway demo</c> is the usual way to meet the first one).
/// </summary>
internal static class StartupProblems
{
    /// <summary>Kestrel reports a taken port as an IOException around AddressInUseException.</summary>
    public static bool IsAddressInUse(Exception exception) =>
        exception is AddressInUseException || exception.InnerException is AddressInUseException;

    /// <summary>For the demo's own upstreams, whose addresses come from the policy, not from a flag.</summary>
    public static string UpstreamInUse(string name, string url) =>
        $"Cannot start the demo upstream '{name}' on {url}: port {new Uri(url).Port} is already in use (perhaps by another `gateway demo`). "
        + "Stop the process that holds it, or give the upstream another destination in the policy.";

    /// <param name="url">The listener URL whose port is taken.</param>
    /// <param name="flag">The option that chose it (<c>--urls</c>, <c>--admin-urls</c>).</param>
    public static string AddressInUse(string url, string flag)
    {
        var port = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
        return $"Cannot listen on {url}: port {port} is already in use (perhaps by another gateway or `gateway demo`). "
            + $"Stop the process that holds it, or choose another port with {flag}.";
    }
}
