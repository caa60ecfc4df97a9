using System.Text.Json;

namespace Gateway.Enforcement;

/// <summary>A decision as JSON for people and scripts (<c>gateway explain</c>). Claims only, never the token.</summary>
public static class DecisionJson
{
    /// <summary>
    /// The checks <c>gateway explain</c> cannot make offline, by the names its output uses: their state lives in
    /// the running gateway's store (revocation rules, approvals granted, budgets spent), not in the policy file.
    /// </summary>
    public static IReadOnlyList<string> OfflineSkipped { get; } = ["revocations", "approvals", "step_budget", "risk_budget", "store"];

    /// <summary>What <see cref="OfflineSkipped"/> means, as the sentence <c>explain</c> prints with every decision.</summary>
    public const string OfflineNote =
        "Decided from the policy file and the token alone. Not checked: revocations (check 3), approvals already "
        + "granted (check 8: a route that needs one is reported as approval_required), the step and risk budgets "
        + "left (checks 9 and 10) and the store (check 11). The running gateway holds those and may still refuse "
        + "this call; its admin API shows them: GET /revocations, GET /budgets?sub=...&agent=....";

    /// <summary>Writes one decision; <paramref name="notChecked"/> lists checks it did not make (<see cref="OfflineSkipped"/>), written as <c>not_checked</c> with a <c>note</c>.</summary>
    public static void Write(Utf8JsonWriter json, AuthorizationDecision decision, string method, string? path, IReadOnlyList<string>? notChecked = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(decision);
        json.WriteStartObject();
        json.WriteString("decision", decision.Outcome);
        var error = decision.IsShadowDenied ? decision.ShadowError : decision.Error;

        // null, not "", on an allow: the audit event and the problem bodies write an absent code as null too.
        if (error == GatewayError.None)
        {
            json.WriteNull("error");
        }
        else
        {
            json.WriteString("error", error.ToCode());
        }

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

        if (notChecked is not null)
        {
            json.WriteStartArray("not_checked");
            foreach (var check in notChecked)
            {
                json.WriteStringValue(check);
            }

            json.WriteEndArray();
            json.WriteString("note", OfflineNote);
        }

        json.WriteEndObject();
    }
}
