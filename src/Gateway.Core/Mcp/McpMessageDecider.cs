using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Gateway.Audit;
using Gateway.Enforcement;
using Gateway.Policy;
using Microsoft.AspNetCore.Http;

namespace Gateway.Mcp;

/// <summary>
/// Decides the messages of one MCP request that passed checks 1-5: protocol messages allowed as they are, invalid
/// ones refused, and each <c>tools/call</c>, <c>resources/read</c> and <c>prompts/get</c> on the target it names with
/// checks 6-11. No I/O of its own besides the stores the evaluator charges, so the benchmarks call it directly.
/// </summary>
internal sealed class McpMessageDecider
{
    internal const string BatchRefused = "Not forwarded: another message of this batch was refused, and a batch is forwarded whole or not at all.";

    private readonly AuthorizationEvaluator _evaluator;

    public McpMessageDecider(AuthorizationEvaluator evaluator)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        _evaluator = evaluator;
    }

    /// <summary>
    /// For <c>gateway explain</c> and <c>gateway test</c>: the decision an MCP route makes of the request's body, with
    /// the same parse, header agreement and checks as the running gateway (minus what it leaves to them: sessions and
    /// origins). The deciding message's decision is returned: the first refused, else the first that carries a capability.
    /// </summary>
    internal static async ValueTask<AuthorizationDecision> EvaluateOfflineAsync(AuthorizationEvaluator evaluator, HttpContext context, CompiledRoute route, CancellationToken cancellationToken)
    {
        var auth = await evaluator.AuthenticateAsync(context, route);
        if (!auth.IsAllowed || !HttpMethods.IsPost(context.Request.Method))
        {
            return auth;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, cancellationToken);
        using var parsed = JsonRpcParser.Parse(buffer.ToArray());
        if (parsed.Error is { } invalid)
        {
            return auth.Refuse(GatewayError.InvalidRequest, invalid.Message, invalid.Reason);
        }

        if (McpHeaderCheck.Check(context.Request.Headers, parsed) is { } mismatch)
        {
            return auth.Refuse(GatewayError.HeaderMismatch, mismatch.Detail, mismatch.Header);
        }

        var decisions = await new McpMessageDecider(evaluator).DecideAsync(context, route, auth, parsed, sessionId: null);
        return decisions.FirstOrDefault(d => !d.IsAllowed)
            ?? decisions.FirstOrDefault(d => d.Route?.Mcp is null)
            ?? decisions[0];
    }

    /// <summary>One decision per message, in body order; <paramref name="auth"/> is reused for a request of one message.</summary>
    public async ValueTask<AuthorizationDecision[]> DecideAsync(HttpContext context, CompiledRoute route, AuthorizationDecision auth, JsonRpcBody parsed, string? sessionId)
    {
        var messages = parsed.Messages;
        var decisions = new AuthorizationDecision[messages.Count];
        var single = messages.Count == 1;
        var charged = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            charged += messages[i].CarriesCapability ? 1 : 0;
        }

        // Protocol messages and invalid ones first: a batch is forwarded whole or not at all, so no message is charged
        // while another one of the same batch is still to be refused.
        var refused = false;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.CarriesCapability)
            {
                continue;
            }

            var decision = single ? auth : auth.ForTarget(route);
            decision.Mcp = Info(message, sessionId, null);
            if (message.Error is { } error)
            {
                decision.Refuse(GatewayError.InvalidRequest, error.Message, error.Reason);
                refused = true;
            }

            decisions[i] = decision;
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (!message.CarriesCapability)
            {
                continue;
            }

            if (refused || charged > 1)
            {
                var skipped = auth.ForTarget(route);
                skipped.Mcp = Info(message, sessionId, null);
                skipped.Refuse(GatewayError.InvalidRequest, charged > 1
                    ? "A batch may carry at most one tools/call, resources/read or prompts/get: each is charged, and a batch is charged all or nothing. Send them one by one."
                    : BatchRefused,
                    charged > 1 ? "batch_charges" : "batch_refused");
                decisions[i] = skipped;
                refused = true;
                continue;
            }

            decisions[i] = await DecideCallAsync(context, route, auth, message, sessionId, single);
        }

        return decisions;
    }

    /// <summary>A <c>tools/call</c>, <c>resources/read</c> or <c>prompts/get</c>: checks 6-11 on the target it names.</summary>
    private async ValueTask<AuthorizationDecision> DecideCallAsync(HttpContext context, CompiledRoute route, AuthorizationDecision auth, JsonRpcMessage message, string? sessionId, bool single)
    {
        var mcp = route.Mcp!;
        var id = single ? auth.DecisionId : null;
        CompiledRoute? target = null;
        Dictionary<string, string>? variables = null;
        switch (message.KnownMethod)
        {
            case McpMethod.ToolsCall:
                mcp.Tools.TryGetValue(message.Name!, out target);
                break;
            case McpMethod.PromptsGet:
                mcp.Prompts.TryGetValue(message.Name!, out target);
                break;
            default:
                if (mcp.MatchResource(message.Uri!) is { } matched)
                {
                    (target, variables) = matched;
                }

                break;
        }

        if (target is null)
        {
            var decision = auth.ForTarget(route, id);
            decision.Mcp = Info(message, sessionId, variables);
            if (message.KnownMethod == McpMethod.ToolsCall && mcp.AllowUnlistedTools)
            {
                // unlisted_tools: allow: a valid token is enough, and the call still takes a step.
                return await _evaluator.AdmitMessageAsync(context, decision, route);
            }

            return AuthorizationEvaluator.Refuse(decision, route, GatewayError.ToolNotAllowed, NotListed(message, route));
        }

        var call = auth.ForTarget(target, id);
        call.Mcp = Info(message, sessionId, variables);
        string? problem = null;
        if (target.Resource.TryExpandMessage(message.Arguments, variables, out var resource, out problem))
        {
            call.Resource = resource;
        }

        call.RequiredScope = target.Action;
        return await _evaluator.DecideMessageAsync(context, call, target, problem);
    }

    internal static McpMessageInfo Info(JsonRpcMessage message, string? sessionId, IReadOnlyDictionary<string, string>? variables)
    {
        byte[]? canonical = null;
        if (message.Arguments is { } arguments)
        {
            canonical = JsonCanonicalizer.Canonicalize(JsonMarshal.GetRawUtf8Value(arguments));
        }
        else if (message.CarriesCapability)
        {
            canonical = "{}"u8.ToArray();
        }

        return new McpMessageInfo
        {
            Method = message.Method ?? (message.Kind == JsonRpcMessageKind.Response ? "response" : "invalid"),
            Target = message.KnownMethod == McpMethod.ResourcesRead ? message.Uri : message.Name,
            Id = message.Id,
            ArgumentsSha256 = canonical is null ? null : Convert.ToHexStringLower(SHA256.HashData(canonical)),
            SessionId = sessionId,
            CanonicalArguments = canonical,
            Arguments = message.Arguments,
            Variables = variables,
        };
    }

    private static string NotListed(JsonRpcMessage message, CompiledRoute route) => message.KnownMethod switch
    {
        McpMethod.ToolsCall => $"Route '{route.Id}' does not list the tool '{message.Name}', so no token may call it through the gateway.",
        McpMethod.PromptsGet => $"Route '{route.Id}' does not list the prompt '{message.Name}', so no token may get it through the gateway.",
        _ => $"No resource template of route '{route.Id}' matches '{message.Uri}', so no token may read it through the gateway.",
    };
}
