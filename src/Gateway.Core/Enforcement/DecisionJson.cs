using System.Text.Json;

namespace Gateway.Enforcement;

/// <summary>A decision as JSON for people and scripts (<c>gateway explain</c>). Claims only, never the token.</summary>
public static class DecisionJson
{
    public static void Write(Utf8JsonWriter json, AuthorizationDecision decision, string method, string? path)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(decision);
        json.WriteStartObject();
        json.WriteString("decision", decision.Outcome);
        json.WriteString("error", decision.IsShadowDenied ? decision.ShadowError.ToCode() : decision.Error.ToCode());
        json.WriteNumber("status", decision.Error.ToStatusCode());
        json.WriteString("detail", decision.Detail);
        json.WriteString("reason", decision.Reason);
        json.WriteString("method", method);
        json.WriteString("path", path);
        if (decision.Route is { } route)
        {
            json.WriteString("route", route.Id);
            json.WriteString("action", route.Action);
            json.WriteString("resource", decision.Resource);
            json.WriteString("tier", route.Tier.Name);
            json.WriteNumber("risk", route.Risk);
            json.WriteString("mode", route.Mode == Policy.EnforcementMode.Shadow ? "shadow" : "enforce");
        }

        if (decision.Token is { } token)
        {
            json.WriteStartObject("token");
            json.WriteString("jti", token.Jti);
            json.WriteString("iss", token.Issuer);
            json.WriteString("sub", token.Subject);
            json.WriteString("agent", token.Agent);
            json.WriteStartArray("actors");
            foreach (var actor in token.Actors)
            {
                json.WriteStringValue(actor);
            }

            json.WriteEndArray();
            json.WriteStartArray("chain");
            foreach (var jti in token.Chain)
            {
                json.WriteStringValue(jti);
            }

            json.WriteEndArray();
            json.WriteString("expires", token.Expires);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }
}
