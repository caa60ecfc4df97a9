using System.Diagnostics;
using Gateway.Enforcement;

namespace Gateway.Telemetry;

/// <summary>Puts a decision on the <c>gateway.authorize</c> span, in the one place that knows the attribute names.</summary>
public static class AuthorizeActivity
{
    /// <summary>
    /// Sets the contract's attributes. Does nothing for a null or unsampled span, so an unsampled
    /// request pays for neither the tags nor the subject's hash.
    /// </summary>
    public static void SetDecision(Activity? activity, AuthorizationDecision decision, SubjectHasher subjects)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(subjects);
        if (activity is null || !activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(GatewayAttributes.DecisionId, decision.DecisionId);
        activity.SetTag(GatewayAttributes.Decision, decision.Outcome);
        if (decision.ErrorCode is { Length: > 0 } error)
        {
            activity.SetTag(GatewayAttributes.Error, error);
        }

        if (decision.Route is { } route)
        {
            activity.SetTag(GatewayAttributes.Route, route.Id);

            // An MCP route's protocol messages have no action or tier of their own.
            if (route.Action.Length > 0)
            {
                activity.SetTag(GatewayAttributes.Action, route.Action);
                activity.SetTag(GatewayAttributes.Tier, route.Tier.Name);
                activity.SetTag(GatewayAttributes.Risk, route.Risk);
            }
        }

        if (decision.Resource is { } resource)
        {
            activity.SetTag(GatewayAttributes.Resource, resource);
        }

        if (decision.Token is { } token)
        {
            activity.SetTag(GatewayAttributes.TokenJti, token.Jti);
            activity.SetTag(GatewayAttributes.Agent, token.Agent);
            activity.SetTag(GatewayAttributes.DelegationDepth, token.DelegationDepth);
            activity.SetTag(GatewayAttributes.EndUserId, subjects.ForTelemetry(token.Subject));
        }

        if (decision.StepsRemaining is { } steps)
        {
            activity.SetTag(GatewayAttributes.StepsRemaining, steps);
        }

        if (decision.RiskRemaining is { } risk)
        {
            activity.SetTag(GatewayAttributes.RiskRemaining, risk);
        }

        if (decision.Mcp is { } mcp)
        {
            activity.SetTag(GatewayAttributes.McpMethod, mcp.Method);
            if (mcp.Method == "tools/call" && mcp.Target is { } tool)
            {
                activity.SetTag(GatewayAttributes.ToolName, tool);
            }

            if (mcp.Id is { } id)
            {
                activity.SetTag(GatewayAttributes.JsonRpcRequestId, id);
            }

            if (mcp.SessionId is { } session)
            {
                activity.SetTag(GatewayAttributes.McpSessionId, session);
            }
        }

        if (decision.Credential is { } credential)
        {
            activity.SetTag(GatewayAttributes.CredentialKind, credential.Kind);
            activity.SetTag(GatewayAttributes.CredentialId, credential.Id);
        }

        // A refusal is the gateway doing its job, not a fault (as a 4xx on an HTTP server span);
        // only an unreachable store means the gateway could not decide.
        if (decision.Error is GatewayError.PolicyStoreUnavailable or GatewayError.UpstreamCredentialsUnavailable)
        {
            activity.SetStatus(ActivityStatusCode.Error, decision.ErrorCode);
        }
    }
}
