using System.Text.Json;
using Gateway.Policy;
using Gateway.Revocation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Admin;

/// <summary><c>POST /revocations</c> and <c>GET /revocations</c> (contract section 6).</summary>
internal static class RevocationEndpoints
{
    /// <summary>A revocation body is a few hundred bytes; anything far larger is not one.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapPost("/revocations", AddAsync);
        admin.MapGet("/revocations", ListAsync);
    }

    private static async Task<IResult> AddAsync(HttpRequest request, IRevocationStore store, RevocationIndex index, PolicyMonitor policies, TimeProvider time, AdminEvents events, CancellationToken cancellationToken)
    {
        var body = await AdminJson.ReadAsync(request, MaxBodyBytes, cancellationToken);
        if (body.Problem is not null)
        {
            return AdminEndpoints.AdminProblem(StatusCodes.Status400BadRequest, "invalid_request", body.Problem);
        }

        using var document = body.Document!;
        if (!RevocationRequest.TryParse(document.RootElement, out var revocation, out var problem)
            || !RevocationRule.TryCreate(revocation, policies.Current.Policy.Gateway, time.GetUtcNow(), out var rule, out problem))
        {
            return AdminEndpoints.AdminProblem(StatusCodes.Status400BadRequest, "invalid_request", problem);
        }

        try
        {
            await ApplyAsync(request.HttpContext, rule, store, index, time, events, cancellationToken);
        }
        catch (RevocationStoreUnavailableException ex)
        {
            return AdminEndpoints.AdminProblem(StatusCodes.Status503ServiceUnavailable, "policy_store_unavailable", ex.Message);
        }

        return Results.Created($"/revocations/{rule.Id}", JsonDocument.Parse(RevocationRuleJson.ToUtf8Bytes(rule)).RootElement);
    }

    /// <summary>Stores <paramref name="rule"/>, enforces it on this replica at once, and audits it. Every way in to the index goes through here.</summary>
    /// <exception cref="RevocationStoreUnavailableException">The store did not take the rule; nothing was enforced or audited.</exception>
    internal static async Task ApplyAsync(HttpContext context, RevocationRule rule, IRevocationStore store, RevocationIndex index, TimeProvider time, AdminEvents events, CancellationToken cancellationToken)
    {
        await store.AddAsync(rule, cancellationToken);

        // The replica that answers enforces the rule from that moment, without waiting for its own
        // announcement to come back from the store; the others follow within milliseconds.
        if (index.Add(rule))
        {
            Telemetry.GatewayTelemetry.RecordRevocationLag(time.GetUtcNow() - rule.CreatedAt);
        }

        await events.RevokedAsync(context, rule);
    }

    private static async Task<IResult> ListAsync(IRevocationStore store, CancellationToken cancellationToken)
    {
        IReadOnlyList<RevocationRule> rules;
        try
        {
            rules = await store.ListAsync(cancellationToken);
        }
        catch (RevocationStoreUnavailableException ex)
        {
            return AdminEndpoints.AdminProblem(StatusCodes.Status503ServiceUnavailable, "policy_store_unavailable", ex.Message);
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("count", rules.Count);
            json.WriteStartArray("revocations");
            foreach (var rule in rules.OrderBy(r => r.CreatedAt))
            {
                RevocationRuleJson.Write(json, rule);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }
}
