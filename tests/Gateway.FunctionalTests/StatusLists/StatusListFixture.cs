using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.StatusLists;

/// <summary>
/// One gateway whose issuer keeps its Token Status Lists on a real loopback list server, plus the address of a list
/// server that is down (started and stopped, so nothing listens there). Each test publishes lists at paths of its own.
/// </summary>
public sealed class StatusListFixture : IAsyncLifetime
{
    public TestIssuer Issuer { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public StatusListServer Lists { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;

    /// <summary>A list server's root where nothing listens any more.</summary>
    public Uri DeadLists { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Lists = await StatusListServer.StartAsync();
        var dead = await StatusListServer.StartAsync();
        DeadLists = dead.Address;
        await dead.DisposeAsync();
        Gateway = await StartGatewayAsync();
    }

    /// <summary>A gateway of this fixture's policy; <paramref name="onStoreFailure"/> is written into its gateway section.</summary>
    public Task<TestGateway> StartGatewayAsync(string? onStoreFailure = null) =>
        TestGateway.StartAsync(Issuer, Upstream, Policy(onStoreFailure), new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" });

    public string Policy(string? onStoreFailure) => TestPolicies.Default
        .Replace("  max_delegation_depth: 3\n", "  max_delegation_depth: 3\n" + (onStoreFailure is null ? "" : $"  on_store_failure: {onStoreFailure}\n"), StringComparison.Ordinal)
        .Replace("    algorithms: [ES256]\n", $"    algorithms: [ES256]\n    status_lists: [ \"{Lists.Address}lists/\", \"{DeadLists}lists/\" ]\n", StringComparison.Ordinal)
        + "\nstatus_list_cache:\n  max_ttl: 1m\n  max_bytes: 65536\n  fetch_timeout: 2s\n";

    /// <summary>A token for <c>crm:customer/**</c> whose status is entry <paramref name="index"/> of the list at <paramref name="uri"/>.</summary>
    public string Mint(string uri, long index, string action = "crm.customers:read")
    {
        var claims = Issuer.Claims(action: action, resource: "crm:customer/**", sub: "user:" + Guid.NewGuid().ToString("N")[..12]);
        claims["status"] = new JsonObject { ["status_list"] = new JsonObject { ["idx"] = index, ["uri"] = uri } };
        claims["cap"] = new JsonObject { ["max_steps"] = 100_000 };
        return Issuer.Mint(claims);
    }

    public Task<HttpResponseMessage> CallAsync(string token, HttpMethod? method = null, TestGateway? gateway = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, "/crm/customers/42");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (request.Method == HttpMethod.Patch)
        {
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        }

        return (gateway ?? Gateway).Client.SendAsync(request);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Lists.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
    }
}
