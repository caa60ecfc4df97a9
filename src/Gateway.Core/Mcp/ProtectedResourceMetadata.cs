using System.Text.Json;
using Gateway.Enforcement;
using Gateway.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Mcp;

/// <summary>
/// RFC 9728 protected resource metadata for each MCP route, at <c>/.well-known/oauth-protected-resource</c> followed by
/// the route's path: the resource's URL, the policy's issuers as its authorization servers, the actions its targets
/// need as scopes, and how tokens may be bound. An MCP client finds it through <c>resource_metadata</c> in a challenge.
/// </summary>
public static class ProtectedResourceMetadata
{
    public const string WellKnownPrefix = "/.well-known/oauth-protected-resource";

    /// <summary>Answers GET <c>/.well-known/oauth-protected-resource/{route path}</c>; 404 <c>no_route</c> for any other path.</summary>
    internal static async Task ServeAsync(HttpContext context)
    {
        var snapshot = context.RequestServices.GetRequiredService<PolicyMonitor>().Current;
        var path = context.Request.Path.Value?[WellKnownPrefix.Length..] ?? "";
        var route = snapshot.Routes.Values.FirstOrDefault(r => r.Mcp is not null && string.Equals(r.Route.Path, path, StringComparison.Ordinal));
        if (route is null)
        {
            var decision = new AuthorizationDecision { DecisionId = DecisionIds.Next() }
                .Refuse(GatewayError.NoRoute, $"No MCP route of the policy has the path '{path}', so there is no protected resource metadata for it.");
            await ProblemResponseWriter.WriteAsync(context, decision);
            return;
        }

        var response = context.Response;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "max-age=60";
        await using var json = new Utf8JsonWriter(response.Body);
        Write(json, route, McpRouteHandler.PublicBase(context.Request, route));
        await json.FlushAsync(context.RequestAborted);
    }

    internal static void Write(Utf8JsonWriter json, CompiledRoute route, string publicBase)
    {
        var policy = route.Snapshot.Policy;
        json.WriteStartObject();
        json.WriteString("resource", publicBase + route.Route.Path);
        json.WriteString("resource_name", route.Id);
        json.WriteStartArray("authorization_servers");
        foreach (var issuer in policy.Issuers)
        {
            json.WriteStringValue(issuer.Issuer);
        }

        json.WriteEndArray();
        json.WriteStartArray("scopes_supported");
        foreach (var action in route.Mcp!.Targets.Select(t => t.Action).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            json.WriteStringValue(action);
        }

        json.WriteEndArray();
        json.WriteStartArray("bearer_methods_supported");
        json.WriteStringValue("header");
        json.WriteEndArray();
        json.WriteStartArray("dpop_signing_alg_values_supported");
        foreach (var algorithm in policy.Gateway.Dpop.Algorithms)
        {
            json.WriteStringValue(algorithm);
        }

        json.WriteEndArray();
        json.WriteBoolean("dpop_bound_access_tokens_required", policy.Gateway.SenderConstraint == SenderConstraint.Required);
        json.WriteEndObject();
    }
}
