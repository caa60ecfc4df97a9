using System.Collections.Frozen;
using System.Diagnostics;
using System.Text.Json;
using Gateway.Approvals;
using Gateway.Budgets;
using Gateway.Enforcement;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Admin;

/// <summary>The admin API (contract section 6) on its own listener.</summary>
public static class AdminEndpoints
{
    /// <summary>Set on the request by the key filter: which admin key made the call (a short digest).</summary>
    public sealed record AdminCaller(string KeyId);

    public static IEndpointRouteBuilder MapGatewayAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // Probes stay open: a kubelet has no admin key.
        endpoints.MapGet("/healthz", () => Results.Text("ok"));
        endpoints.MapGet("/readyz", ReadyAsync);

        var admin = endpoints.MapGroup("").AddEndpointFilter(RequireAdminKey);
        admin.MapGet("/budgets", GetBudgetsAsync);
        RevocationEndpoints.Map(admin);
        OAuthEndpoints.Map(admin);

        // RFC 8935 answers a refused SET with its own {"err", "description"}, so this one checks the key itself.
        Signals.SignalEndpoints.Map(endpoints);

        // The parent token may authorize its own delegation, so this one checks credentials itself.
        DelegationEndpoints.Map(endpoints);

        // No admin key: relying parties that accept the gateway's child tokens fetch it (docs/revocation.md).
        StatusLists.PublishedStatusListEndpoint.Map(endpoints);
        endpoints.MapGatewayApprovals();
        return endpoints;
    }

    internal static async ValueTask<object?> RequireAdminKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var keyId = http.RequestServices.GetRequiredService<AdminKeyAuthenticator>().Authenticate(http.Request);
        if (keyId is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"gateway-admin\"";
            return AdminProblem(StatusCodes.Status401Unauthorized, "unauthorized", "This admin call needs 'Authorization: Bearer ADMIN_KEY' with a configured admin key.");
        }

        http.Features.Set(new AdminCaller(keyId));
        return await next(context);
    }

    private static async Task<IResult> ReadyAsync(BudgetCharger budgets, Revocation.RevocationSynchronizer revocations, Upstreams.UpstreamCredentials credentials, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        bool reachable;
        try
        {
            reachable = await budgets.Store.PingAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reachable = false;
        }

        // Until the revocation rules are loaded once, this replica could admit a revoked token.
        // A credential whose secret cannot be loaded here (a missing mount, an unreadable file) means every call to
        // its upstream would be refused: a rollout should stop at this replica. A token endpoint that is down is
        // not counted: it is shared by every replica, and taking them all out would turn 503 problems into refused
        // connections for every route.
        var upstreams = new SortedDictionary<string, object>(StringComparer.Ordinal);
        var credentialsLoaded = true;
        foreach (var credential in credentials.All)
        {
            var problem = credential.Problem;
            credentialsLoaded &= problem is null;
            upstreams[credential.Upstream] = problem is null
                ? new Dictionary<string, string> { ["credential"] = "loaded", ["kind"] = credential.Kind, ["id"] = credential.Id }
                : new Dictionary<string, string> { ["credential"] = "unavailable", ["kind"] = credential.Kind, ["id"] = credential.Id, ["problem"] = problem };
        }

        var ready = reachable && revocations.HasLoaded && credentialsLoaded;
        var body = new Dictionary<string, object>
        {
            ["status"] = ready ? "ready" : "not_ready",
            ["store"] = reachable ? "reachable" : "unreachable",
            ["revocations"] = revocations.HasLoaded ? "loaded" : "not_loaded",
        };
        if (upstreams.Count > 0)
        {
            body["upstreams"] = upstreams;
        }
        return Results.Json(body, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> GetBudgetsAsync(HttpRequest request, BudgetCharger budgets, Policy.PolicyMonitor policies, CancellationToken cancellationToken)
    {
        var sub = request.Query["sub"].ToString();
        var agent = request.Query["agent"].ToString();
        var jti = request.Query["jti"].ToString();
        if (sub.Length == 0 || agent.Length == 0)
        {
            return AdminProblem(StatusCodes.Status400BadRequest, "invalid_request", "GET /budgets needs ?sub=USER&agent=AGENT (and optionally &jti=TOKEN_ID).");
        }

        BudgetSnapshot snapshot;
        try
        {
            snapshot = await budgets.Store.GetAsync(sub, agent, jti.Length == 0 ? null : jti, cancellationToken);
        }
        catch (BudgetStoreUnavailableException ex)
        {
            return AdminProblem(StatusCodes.Status503ServiceUnavailable, "policy_store_unavailable", ex.Message);
        }

        var policy = policies.Current.Policy.Budgets;
        var limit = snapshot.RiskLimit ?? policy.RiskLimit;
        return Results.Json(new Dictionary<string, object?>
        {
            ["sub"] = snapshot.Subject,
            ["agent"] = snapshot.Agent,
            ["risk"] = new Dictionary<string, object?>
            {
                ["used"] = snapshot.RiskUsed,
                ["limit"] = limit,
                ["remaining"] = snapshot.RiskRemaining ?? Math.Max(0, limit - snapshot.RiskUsed),
                ["window"] = Policy.PolicyDuration.Format(policy.RiskWindow),
                ["window_ends"] = snapshot.RiskWindowEnds,
            },
            ["steps"] = snapshot.Jti is null ? null : new Dictionary<string, object?>
            {
                ["jti"] = snapshot.Jti,
                ["used"] = snapshot.StepsUsed,
                ["limit"] = snapshot.StepsLimit,
                ["remaining"] = snapshot.StepsRemaining,
            },
        });
    }

    /// <summary>The admin API's problem+json; <paramref name="reason"/> is the specific word under the code, when there is one.</summary>
    internal static IResult AdminProblem(int status, string error, string detail, string? reason = null)
    {
        var body = new Dictionary<string, object> { ["type"] = "urn:gateway:problem:" + error, ["title"] = AdminTitle(error), ["status"] = status, ["error"] = error, ["detail"] = detail, ["trace_id"] = TraceId() };
        if (reason is not null)
        {
            body["reason"] = reason;
        }

        return Results.Json(
            body,
            (JsonSerializerOptions?)null,
            "application/problem+json",
            status);
    }

    // The proxy's codes keep the proxy's titles, so one code reads the same from either listener.
    private static readonly FrozenDictionary<string, string> Titles = Enum.GetValues<GatewayError>()
        .Where(e => e != GatewayError.None)
        .ToFrozenDictionary(e => e.ToCode(), e => e.ToTitle(), StringComparer.Ordinal);

    /// <summary>RFC 9457's <c>title</c> for an admin code: the proxy's title, else the code in words (<c>approval_not_found</c>: "Approval not found").</summary>
    internal static string AdminTitle(string error) =>
        Titles.TryGetValue(error, out var title) ? title
        : error.Length == 0 ? "Error"
        : char.ToUpperInvariant(error[0]) + error[1..].Replace('_', ' ');

    /// <summary>The request's W3C trace id for a problem's <c>trace_id</c> (contract section 4: every refusal has one).</summary>
    internal static string TraceId() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.TraceId.ToHexString() : ActivityTraceId.CreateRandom().ToHexString();
}
