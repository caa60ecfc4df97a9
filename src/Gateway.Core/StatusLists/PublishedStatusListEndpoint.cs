using Gateway.Admin;
using Gateway.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.StatusLists;

/// <summary>
/// <c>GET /status-lists/delegation</c> on the admin listener, without the admin key (a status list is public by design:
/// bits by index, no claim of any token): the gateway's Token Status List for the child tokens it mints, as a
/// <c>statuslist+jwt</c> signed with the delegation key. Built from the shared store at most once a second per
/// replica, so a flood of fetches costs one store read a second.
/// </summary>
public sealed class PublishedStatusListEndpoint(IStatusListStore store, DelegationServices delegations, TimeProvider time) : IDisposable
{
    /// <summary>How long one signed list is served before it is rebuilt from the store.</summary>
    public static readonly TimeSpan RebuildInterval = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _rebuild = new(1, 1);
    private volatile Built? _built;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(PublishedStatusListSettings.Path, static (PublishedStatusListEndpoint endpoint, PolicyMonitor policies, CancellationToken cancellationToken) =>
            endpoint.ServeAsync(policies.Current, cancellationToken));
    }

    private async Task<IResult> ServeAsync(PolicySnapshot snapshot, CancellationToken cancellationToken)
    {
        if (snapshot.Policy.Delegation?.StatusList is not { } settings || delegations.For(snapshot) is not { } service)
        {
            return Results.Problem(statusCode: 404, title: "status_list_disabled", detail: "This gateway publishes no status list: its policy has no 'delegation.status_list'.");
        }

        var built = _built;
        if (built is null || !ReferenceEquals(built.Snapshot, snapshot) || time.GetUtcNow() - built.At >= RebuildInterval)
        {
            await _rebuild.WaitAsync(cancellationToken);
            try
            {
                built = _built;
                if (built is null || !ReferenceEquals(built.Snapshot, snapshot) || time.GetUtcNow() - built.At >= RebuildInterval)
                {
                    var bits = await store.ReadAsync(settings.Size, cancellationToken);
                    built = new Built(snapshot, time.GetUtcNow(), service.SignStatusList(bits));
                    _built = built;
                }
            }
            catch (StatusListStoreUnavailableException)
            {
                return Results.Problem(statusCode: 503, title: "policy_store_unavailable", detail: "The status list store cannot be reached; fetch the list again shortly.");
            }
            finally
            {
                _rebuild.Release();
            }
        }

        return Results.Text(built.Token, StatusListTokenVerifier.MediaType);
    }

    public void Dispose() => _rebuild.Dispose();

    private sealed record Built(PolicySnapshot Snapshot, DateTimeOffset At, string Token);
}
