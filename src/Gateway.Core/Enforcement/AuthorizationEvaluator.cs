using System.Runtime.CompilerServices;
using Gateway.Approvals;
using Gateway.Budgets;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.StatusLists;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Enforcement;

/// <summary>
/// The decision, in the contract's order (section 4). Pure with respect to the request: it
/// reads the request and the policy and returns an <see cref="AuthorizationDecision"/>; the
/// middleware maps it to HTTP. <c>gateway explain</c> and the benchmarks call it directly.
/// </summary>
public sealed class AuthorizationEvaluator
{
    private readonly TimeProvider _time;
    private readonly BudgetCharger? _budgets;
    private readonly RevocationIndex? _revocations;
    private readonly ApprovalFlow? _approvals;
    private readonly ApprovalFlow.Charge _charge;
    private readonly SenderConstraintCheck _senderConstraints;
    private readonly StatusListCache? _statusLists;
    private static readonly TimeSpan StatusListRetry = TimeSpan.FromSeconds(1);

    /// <param name="time">The clock for step-up ages.</param>
    /// <param name="budgets">Where allowed calls are charged; null evaluates without charging (<c>gateway explain</c>).</param>
    /// <param name="revocations">The replica's in-memory revocation rules; null checks none (<c>gateway explain</c> offline).</param>
    /// <param name="approvals">Checks and requests approvals (check 8); null refuses every call that needs one, with no approval id.</param>
    /// <param name="senderConstraints">Check 4 (DPoP proofs, certificate binding); null checks proofs against this process only.</param>
    /// <param name="statusLists">The Token Status Lists of check 3; null refuses every token that names one as unverifiable (503, or <c>on_store_failure</c>).</param>
    public AuthorizationEvaluator(TimeProvider time, BudgetCharger? budgets, RevocationIndex? revocations = null, ApprovalFlow? approvals = null, SenderConstraintCheck? senderConstraints = null, StatusListCache? statusLists = null)
    {
        _statusLists = statusLists;
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _budgets = budgets;
        _revocations = revocations;
        _approvals = approvals;
        _charge = Charge;
        _senderConstraints = senderConstraints ?? SenderConstraintCheck.InMemory(time);
    }

    public ValueTask<AuthorizationDecision> EvaluateAsync(HttpContext context, CompiledRoute? route) => EvaluateAsync(context, route, authenticateOnly: false);

    /// <summary>
    /// Checks 1-5 only (route, token, revocation, sender constraint, delegation), once per HTTP request of an MCP route:
    /// its messages are then decided one by one with <see cref="DecideMessageAsync"/>, so a DPoP proof is used once
    /// however many messages the request carries.
    /// </summary>
    internal ValueTask<AuthorizationDecision> AuthenticateAsync(HttpContext context, CompiledRoute? route) => EvaluateAsync(context, route, authenticateOnly: true);

    /// <summary>
    /// Checks 6-11 of one MCP message on its <paramref name="target"/>, for a request that passed
    /// <see cref="AuthenticateAsync"/>: <paramref name="decision"/> carries the token, the message and the resource
    /// the message names (null when it names none, <paramref name="resourceProblem"/> saying why: out of scope).
    /// </summary>
    internal ValueTask<AuthorizationDecision> DecideMessageAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute target, string? resourceProblem)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(target);
        var token = decision.Token!;

        // 6. Action and resource in scope of one grant entry; a resource its arguments cannot fill is out of scope.
        if (decision.Resource is not { } resource)
        {
            return new(Refuse(decision, target, GatewayError.InsufficientScope, resourceProblem ?? "The call names no resource this target can check.", "resource"));
        }

        if (!ScopeEvaluator.IsInScope(token, target.Action, resource))
        {
            return new(Refuse(decision, target, GatewayError.InsufficientScope,
                $"The token does not grant '{target.Action}' on '{resource}' in any one authorization_details entry."));
        }

        // 7. Step-up and the human's intent.
        if (CheckStepUp(target, token, target.Snapshot.Policy.Gateway.ClockSkew) is { } stepUp)
        {
            return new(Refuse(decision, target, GatewayError.InsufficientUserAuthentication, stepUp, "step_up", target.StepUpChallenge));
        }

        // 8. Approval.
        if (target.Approval == ApprovalRequirement.Required && _approvals is null)
        {
            return new(Refuse(decision, target, GatewayError.ApprovalRequired,
                $"Route '{target.Id}' ({target.Tier.Name} tier) needs a human approval for every call."));
        }

        return AdmitMessageAsync(context, decision, target);
    }

    /// <summary>Checks 8 (with the store) to 11 of a message whose checks 1-7 passed, on <paramref name="target"/>.</summary>
    internal ValueTask<AuthorizationDecision> AdmitMessageAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute target) =>
        Admit(context, decision, target);

    private ValueTask<AuthorizationDecision> EvaluateAsync(HttpContext context, CompiledRoute? route, bool authenticateOnly)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decision = new AuthorizationDecision { DecisionId = DecisionIds.Next(), Route = route };

        // 1. A route matched, its literals exactly as the policy spells them.
        if (route is null || !route.LiteralsMatchExactly(context.Request.Path.Value))
        {
            return new(decision.Refuse(GatewayError.NoRoute, "No route of the policy matches this method and path."));
        }

        // The resource the call names is known from the route and the request alone, so even a refusal for the token
        // records what was attempted; a resource that cannot be built is refused only at check 6, in the contract's order.
        if (!authenticateOnly && route.Resource.TryExpand(context.Request, out var resource, out _))
        {
            decision.Resource = resource;
        }

        // 2. The token: present, well formed, signed, fresh.
        var credential = ReadCredential(context.Request.Headers, out var problem);
        if (credential is null)
        {
            return new(Refuse(decision, route, GatewayError.InvalidToken, problem!, "missing"));
        }

        var validation = route.Snapshot.Tokens.ValidateAsync(credential.Value.TokenCharacters, context.RequestAborted);
        if (!validation.IsCompletedSuccessfully)
        {
            return AwaitValidation(context, decision, route, credential.Value, validation, authenticateOnly);
        }

        var decided = DecideAsync(context, decision, route, credential.Value, validation.Result, authenticateOnly);
        if (authenticateOnly)
        {
            return decided;
        }

        return decided.IsCompletedSuccessfully ? Admit(context, decided.Result, route) : AwaitDecision(context, decided, route);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AuthorizationDecision> AwaitValidation(HttpContext context, AuthorizationDecision decision, CompiledRoute route, Credential credential, ValueTask<TokenValidationResult> validation, bool authenticateOnly)
    {
        await DecideAsync(context, decision, route, credential, await validation, authenticateOnly);
        return authenticateOnly ? decision : await Admit(context, decision, route);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AuthorizationDecision> AwaitDecision(HttpContext context, ValueTask<AuthorizationDecision> decided, CompiledRoute route) =>
        await Admit(context, await decided, route);

    // 8 (with the store), then 9-11.
    private ValueTask<AuthorizationDecision> Admit(HttpContext context, AuthorizationDecision decision, CompiledRoute route) =>
        _approvals is null ? Charge(decision, route, context.RequestAborted) : _approvals.AdmitAsync(context, decision, route, _charge);

    // 9-11. Budgets, only for a call every other check let through: refused calls consume nothing.
    private ValueTask<AuthorizationDecision> Charge(AuthorizationDecision decision, CompiledRoute route, CancellationToken cancellationToken)
    {
        if (_budgets is null || !decision.IsAllowed || decision.IsShadowDenied || decision.Token is null)
        {
            return new(decision);
        }

        return _budgets.ChargeAsync(decision, route, decision.Token, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AuthorizationDecision> DecideAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute route, Credential credential, TokenValidationResult validation, bool authenticateOnly)
    {
        if (!validation.IsValid)
        {
            var failure = validation.Failure!;
            return Refuse(decision, route, GatewayError.InvalidToken, failure.Description, failure.Reason);
        }

        var token = validation.Token!;
        decision.Token = token;
        var policy = route.Snapshot.Policy;

        // 3. Not revoked: the token, an ancestor, its agents, its user or its client. From memory,
        //    kept current by the revocation synchronizer, so this costs a few dictionary lookups.
        if (_revocations?.Match(token) is { } revoked)
        {
            return Refuse(decision, route, GatewayError.InvalidToken, revoked.Describe(), "revoked");
        }

        //    And, for a token that names one, its entry in its issuer's status list: from memory too, once fetched.
        if (token.StatusList is not null && await CheckStatusListAsync(context, decision, route, token) is { } refusedByStatus)
        {
            return refusedByStatus;
        }

        // 4. Sender constraint: a DPoP proof by the token's key (RFC 9449), its client certificate (RFC 8705).
        if (await _senderConstraints.CheckAsync(context, decision, route, token, credential.TokenCharacters, credential.IsDpop) is { } refused)
        {
            return refused;
        }

        // 5. The delegation chain: bounded depth, no agent twice.
        if (token.DelegationDepth > policy.Gateway.MaxDelegationDepth)
        {
            return Refuse(decision, route, GatewayError.DelegationDenied,
                $"The delegation chain has {token.DelegationDepth} hops; this gateway allows at most {policy.Gateway.MaxDelegationDepth}.", "too_deep");
        }

        if (HasRepeatedAgent(token.Actors))
        {
            return Refuse(decision, route, GatewayError.DelegationDenied, "An agent appears twice in the delegation chain.", "cycle");
        }

        if (authenticateOnly)
        {
            return decision;
        }

        // 6. Action and resource in scope of one grant entry.
        if (decision.Resource is not { } resource)
        {
            _ = route.Resource.TryExpand(context.Request, out _, out var resourceProblem);
            return Refuse(decision, route, GatewayError.InvalidRequest, resourceProblem!, "resource");
        }

        if (ScopeEvaluator.FindGrant(token, route.Action, resource) is not { } grant)
        {
            return Refuse(decision, route, GatewayError.InsufficientScope,
                $"The token does not grant '{route.Action}' on '{resource}' in any one authorization_details entry.");
        }

        decision.GrantIndex = grant.Index;

        // 7. Step-up and the human's intent.
        var stepUp = CheckStepUp(route, token, policy.Gateway.ClockSkew);
        if (stepUp is not null)
        {
            return Refuse(decision, route, GatewayError.InsufficientUserAuthentication, stepUp, "step_up", route.StepUpChallenge);
        }

        // 8. Approval. With the approval flow wired in, it checks or requests one next (it needs the store).
        if (route.Approval == ApprovalRequirement.Required && _approvals is null)
        {
            return Refuse(decision, route, GatewayError.ApprovalRequired,
                $"Route '{route.Id}' ({route.Tier.Name} tier) needs a human approval for every call.");
        }

        return decision;
    }

    private async ValueTask<AuthorizationDecision?> CheckStatusListAsync(HttpContext context, AuthorizationDecision decision, CompiledRoute route, CapabilityToken token)
    {
        var status = _statusLists is null
            ? new StatusCheck(StatusOutcome.Unavailable, "The token names a status list, and this gateway was started without status list support, so it cannot tell whether the token was revoked.")
            : await _statusLists.CheckAsync(token, route.Snapshot, context.RequestAborted);
        switch (status.Outcome)
        {
            case StatusOutcome.Valid:
                return null;
            case StatusOutcome.Revoked:
                return Refuse(decision, route, GatewayError.InvalidToken, status.Detail!, "revoked");
            case StatusOutcome.OutOfRange:
                return Refuse(decision, route, GatewayError.InvalidToken, status.Detail!, "status_list");
        }

        // A list that cannot be had is a store that cannot be reached: the same rule as budgets and DPoP replay.
        var gateway = route.Snapshot.Policy.Gateway;
        if (gateway.OnStoreFailure == StoreFailureMode.AllowBelowTier && gateway.AllowBelowTier is { } tier
            && route.Snapshot.Policy.Tiers.TryGetValue(tier, out var limit) && route.Tier.Rank <= limit.Rank)
        {
            decision.Degraded = true;
            return null;
        }

        decision.RetryAfter = StatusListRetry;
        return Refuse(decision, route, GatewayError.PolicyStoreUnavailable, status.Detail + " Retry shortly.", "status_list_unavailable");
    }

    private string? CheckStepUp(CompiledRoute route, CapabilityToken token, TimeSpan skew)
    {
        if (token.Intent < route.MinIntent)
        {
            return $"This route needs the delegation approved by '{IntentName(route.MinIntent)}'; the token carries '{IntentName(token.Intent)}'.";
        }

        if (route.StepUp is not { } stepUp)
        {
            return null;
        }

        if (stepUp.Acr.Count > 0 && (token.Acr is null || !stepUp.Acr.Contains(token.Acr, StringComparer.Ordinal)))
        {
            return $"This route needs an authentication context of {string.Join(" or ", stepUp.Acr)}.";
        }

        if (stepUp.MaxAge is { } maxAge)
        {
            if (token.AuthTime is not { } authTime)
            {
                return "This route needs a recent authentication, and the token has no auth_time.";
            }

            if (_time.GetUtcNow() - authTime > maxAge + skew)
            {
                return $"This route needs an authentication within the last {(long)maxAge.TotalSeconds} seconds.";
            }
        }

        return null;
    }

    internal static AuthorizationDecision Refuse(AuthorizationDecision decision, CompiledRoute route, GatewayError error, string detail, string? reason = null, string? challenge = null) =>
        route.Mode == EnforcementMode.Shadow && error != GatewayError.NoRoute
            ? decision.ShadowDeny(error, detail, reason)
            : decision.Refuse(error, detail, reason, challenge);

    private static bool HasRepeatedAgent(IReadOnlyList<string> actors)
    {
        for (var i = 1; i < actors.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(actors[i], actors[j], StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string IntentName(IntentMethod intent) => intent switch
    {
        IntentMethod.Explicit => "explicit",
        IntentMethod.StepUp => "step_up",
        _ => "policy",
    };

    /// <summary>
    /// Reads exactly one <c>Authorization</c> header with the Bearer or DPoP scheme. Two headers,
    /// two credentials or an unknown scheme are refused: which one would we have checked?
    /// </summary>
    internal static Credential? ReadCredential(IHeaderDictionary headers, out string? problem)
    {
        problem = null;
        var values = headers[HeaderNames.Authorization];
        if (values.Count == 0)
        {
            problem = "The request carries no capability token; send 'Authorization: Bearer TOKEN'.";
            return null;
        }

        if (values.Count > 1)
        {
            problem = "The request carries more than one Authorization header.";
            return null;
        }

        // Slices of the header, not copies: a cached token is then never copied at all.
        var value = (values[0] ?? "").AsMemory().Trim();
        var space = value.Span.IndexOf(' ');
        if (space <= 0)
        {
            problem = "The Authorization header must be 'Bearer TOKEN' or 'DPoP TOKEN'.";
            return null;
        }

        var scheme = value.Span[..space];
        var token = value[(space + 1)..].TrimStart();
        bool dpop;
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            dpop = false;
        }
        else if (scheme.Equals("DPoP", StringComparison.OrdinalIgnoreCase))
        {
            dpop = true;
        }
        else
        {
            problem = "The Authorization scheme must be Bearer or DPoP.";
            return null;
        }

        if (token.IsEmpty || token.Span.ContainsAny(' ', ','))
        {
            problem = "The Authorization header must carry exactly one token.";
            return null;
        }

        return new Credential(token, dpop);
    }

    /// <summary>The token as a slice of the header (never copied on the hot path) and its scheme.</summary>
    internal readonly record struct Credential(ReadOnlyMemory<char> TokenCharacters, bool IsDpop)
    {
        /// <summary>A copy of the token; for tests and diagnostics, never on the request path.</summary>
        public string Token => TokenCharacters.ToString();
    }
}
