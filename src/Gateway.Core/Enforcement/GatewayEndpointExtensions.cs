using System.Diagnostics;
using Gateway.Policy;
using Gateway.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Enforcement;

public static class GatewayEndpointExtensions
{
    /// <summary>
    /// Refuses unsafe request targets and framing before routing sees them (see <see cref="RequestPathGuard"/>
    /// and <see cref="RequestFramingGuard"/>).
    /// </summary>
    public static IApplicationBuilder UseGatewayPathGuard(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            var problem = RequestPathGuard.Check(context);
            var reason = "path";
            if (problem is null && (problem = RequestFramingGuard.Check(context)) is not null)
            {
                reason = "framing";
            }

            if (problem is null)
            {
                return next(context);
            }

            var decision = new AuthorizationDecision { DecisionId = DecisionIds.Next() }.Refuse(GatewayError.InvalidRequest, problem, reason);

            // A body whose framing is in doubt is not read, not even for its digest.
            return RefuseAsync(context, decision, started, readBody: reason != "framing");
        });

    /// <summary>
    /// Maps the policy's routes through YARP with the authorization step in its pipeline, and a
    /// catch-all that answers 404 <c>no_route</c> (also when only the method differs: the
    /// contract wants 404, not 405, and nothing unmatched is ever forwarded).
    /// </summary>
    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapReverseProxy(proxy => proxy.UseMiddleware<AuthorizationMiddleware>())
            .ConfigureEndpoints((builder, route) =>
            {
                if (PolicyProxyConfigProvider.Find(route) is { } compiled)
                {
                    builder.WithMetadata(compiled);
                }
            });

        // RFC 9728 metadata of the MCP routes; literal segments outrank any policy route's catch-all.
        endpoints.MapGet(Mcp.ProtectedResourceMetadata.WellKnownPrefix + "/{**path}", Mcp.ProtectedResourceMetadata.ServeAsync)
            .WithDisplayName("gateway protected resource metadata");

        endpoints.Map("/{**path}", static context =>
            {
                var started = Stopwatch.GetTimestamp();
                var decision = new AuthorizationDecision { DecisionId = DecisionIds.Next() }
                    .Refuse(GatewayError.NoRoute, $"No route of the policy matches {context.Request.Method} {context.Request.Path}.");
                return RefuseAsync(context, decision, started);
            })
            .WithOrder(int.MaxValue)
            .WithDisplayName("gateway no_route");
        return endpoints;
    }

    /// <summary>
    /// A refusal made before the authorization step still gets its <c>gateway.authorize</c> span
    /// (contract section 8: one per request), so that an analyst finds every decision by its
    /// attributes and the audit event's <c>span_id</c> names that span, as for any other decision.
    /// </summary>
    private static async Task RefuseAsync(HttpContext context, AuthorizationDecision decision, long started, bool readBody = true)
    {
        using var activity = GatewayTelemetry.StartAuthorize();
        await context.RequestServices.GetRequiredService<DecisionRecorder>().RefuseAsync(context, decision, activity, started, readBody);
    }
}
