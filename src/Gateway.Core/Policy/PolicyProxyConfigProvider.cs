using System.Runtime.CompilerServices;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Policy;

/// <summary>
/// Turns the current policy into YARP routes and clusters, and signals YARP when a reload
/// swaps the snapshot. Each route carries the policy digest in its metadata so that YARP,
/// which keeps endpoints whose config compares equal, rebuilds every endpoint (and with it
/// the <see cref="CompiledRoute"/> metadata) on every reload.
/// </summary>
public sealed class PolicyProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    private const string PolicyDigestKey = "gateway.policy_sha256";

    // RouteConfig instance -> its compiled policy, read once when YARP builds the endpoint.
    private static readonly ConditionalWeakTable<RouteConfig, CompiledRoute> Compiled = [];

    private readonly PolicyMonitor _monitor;
    private volatile PolicyProxyConfig _config;

    public PolicyProxyConfigProvider(PolicyMonitor monitor)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        _monitor = monitor;
        _config = Build(monitor.Current);
        monitor.Changed += OnChanged;
    }

    public IProxyConfig GetConfig() => _config;

    /// <summary>The compiled policy YARP's endpoint for <paramref name="route"/> should carry.</summary>
    public static CompiledRoute? Find(RouteConfig route) => Compiled.TryGetValue(route, out var compiled) ? compiled : null;

    public void Dispose()
    {
        _monitor.Changed -= OnChanged;
        _config.Dispose();
    }

    private void OnChanged(PolicySnapshot snapshot)
    {
        var previous = _config;
        _config = Build(snapshot);
        previous.SignalChange();
    }

    private static PolicyProxyConfig Build(PolicySnapshot snapshot)
    {
        var policy = snapshot.Policy;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [PolicyDigestKey] = policy.Sha256 };
        var routes = new List<RouteConfig>(policy.Routes.Count);
        foreach (var route in policy.Routes)
        {
            var config = new RouteConfig
            {
                RouteId = route.Id,
                ClusterId = route.Upstream,
                Match = new RouteMatch
                {
                    Path = route.Path,
                    Methods = route.Methods.Count == 0 ? null : route.Methods,
                },
                Metadata = metadata,
            };
            Compiled.AddOrUpdate(config, snapshot.Routes[route.Id]);
            routes.Add(config);
        }

        var clusters = policy.Upstreams.Values
            .Select(u => new ClusterConfig
            {
                ClusterId = u.Name,
                Metadata = u.CaFile is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [Upstreams.UpstreamHttpClientFactory.CaFileMetadata] = u.CaFile },
                Destinations = u.Destinations
                    .Select((d, i) => (Key: $"{u.Name}-{i}", Value: new DestinationConfig { Address = d.ToString() }))
                    .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            })
            .ToList();

        return new PolicyProxyConfig(routes, clusters, policy.Sha256);
    }

    private sealed class PolicyProxyConfig : IProxyConfig, IDisposable
    {
        private readonly CancellationTokenSource _changed = new();

        public PolicyProxyConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, string revision)
        {
            Routes = routes;
            Clusters = clusters;
            RevisionId = revision;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }
        public IReadOnlyList<ClusterConfig> Clusters { get; }
        public IChangeToken ChangeToken { get; }
        public string RevisionId { get; }

        public void SignalChange() => _changed.Cancel();

        public void Dispose() => _changed.Dispose();
    }
}
