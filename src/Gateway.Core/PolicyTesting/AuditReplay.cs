using Gateway.Audit;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;

namespace Gateway.PolicyTesting;

/// <summary>
/// Replays the calls of an audit log against two policies (<c>gateway diff OLD NEW --audit FILES</c>) and
/// finds those whose decision would change. Each call is decided by the gateway's own evaluator with the
/// token the audit recorded (its claims and grants, as validated then) at the time it was made; what the
/// audit cannot know is left out of both sides alike: budgets, revocations and approvals (a call that
/// needs one ends <c>approval_required</c> on both), and token checks (a call refused for its token is
/// not replayed). The difference between the two replays is therefore the policy edit's alone.
/// </summary>
public static class AuditReplay
{
    public static ReplayResult Run(GatewayPolicy before, GatewayPolicy after, IReadOnlyList<string> files, DateTimeOffset? since, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(files);
        var clock = new ReplayClock();
        var oldSide = new Side(before, clock);
        var newSide = new Side(after, clock);
        var groups = new Dictionary<(string Route, string Agent, string Old, string New), long>();
        var skipped = new Dictionary<string, long>(StringComparer.Ordinal);
        long replayed = 0, unchanged = 0, unreadable = 0, differs = 0;
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            foreach (var line in LineReader.ReadLines(stream))
            {
                AuditEvent e;
                try
                {
                    e = AuditEventSerializer.Parse(line);
                }
                catch (FormatException)
                {
                    unreadable++;
                    continue;
                }

                if (e.Decision == AuditDecision.Admin || (since is { } start && e.Time < start) || e.Time > until)
                {
                    continue;
                }

                var problem = Prepare(e, before, out var token);
                if (problem is not null)
                {
                    skipped[problem] = skipped.GetValueOrDefault(problem) + 1;
                    continue;
                }

                clock.Now = e.Time;
                var query = RecoverInputs(e, oldSide);
                var was = oldSide.Decide(e, token!, query);
                var now = newSide.Decide(e, token!, query);
                replayed++;
                var recorded = e.Error is null ? e.Decision.ToWire() : $"{e.Decision.ToWire()} {e.Error}";
                if (recorded != was)
                {
                    differs++;
                }

                if (was == now)
                {
                    unchanged++;
                    continue;
                }

                var key = (e.Route ?? "(no route)", e.Token!.Agent, was, now);
                groups[key] = groups.GetValueOrDefault(key) + 1;
            }
        }

        return new ReplayResult
        {
            Replayed = replayed,
            Unchanged = unchanged,
            Unreadable = unreadable,
            DiffersFromRecord = differs,
            Skipped = skipped,
            Changes = [.. groups
                .Select(g => new ReplayChange(g.Key.Route, g.Key.Agent, g.Key.Old, g.Key.New, g.Value))
                .OrderBy(c => c.Route, StringComparer.Ordinal).ThenByDescending(c => c.Count).ThenBy(c => c.Agent, StringComparer.Ordinal)],
        };
    }

    /// <summary>Why a call cannot be replayed, or null with the token the audit recorded for it.</summary>
    private static string? Prepare(AuditEvent e, GatewayPolicy before, out CapabilityToken? token)
    {
        token = null;
        if (e.Request is null)
        {
            return "no request recorded";
        }

        if (e.Token is not { } recorded)
        {
            // Refused before a token was validated (missing, expired, bad signature): no policy edit changes that.
            return "refused before the token was validated";
        }

        if (e.Reason == "revoked")
        {
            return "refused for a revoked token";
        }

        if (recorded.Grants.Count == 0 && recorded.IssuedAt is null)
        {
            return "recorded before audit events carried the token's grants";
        }

        var grants = new List<CapabilityGrant>(recorded.Grants.Count);
        foreach (var grant in recorded.Grants)
        {
            var actions = new List<ActionPattern>();
            var resources = new List<ResourcePattern>();
            foreach (var text in grant.Actions)
            {
                if (ActionPattern.TryParse(text, out var action))
                {
                    actions.Add(action);
                }
            }

            foreach (var text in grant.Resources)
            {
                if (ResourcePattern.TryParse(text, out var resource))
                {
                    resources.Add(resource);
                }
            }

            // The event keeps agent_capability entries only, so their position there is the best index a replay has.
            grants.Add(new CapabilityGrant { Index = grants.Count, Actions = actions, Resources = resources });
        }

        token = new CapabilityToken
        {
            Jti = recorded.Jti,
            Issuer = recorded.Issuer,
            Subject = recorded.Subject,
            Agent = recorded.Agent,

            // The audit records the calling agent and the ancestor tokens, not every hop's agent.
            Actors = [recorded.Agent],
            IssuedAt = recorded.IssuedAt ?? e.Time,
            Expires = recorded.Expires ?? e.Time + before.Gateway.MaxTokenLifetime,
            Grants = grants,
            Intent = recorded.Intent,
            Chain = recorded.Chain,
            Acr = recorded.Acr,
            AuthTime = recorded.AuthTime,
        };
        return null;
    }

    /// <summary>The query and header values the old route's resource was built from, recovered from the recorded resource.</summary>
    private static List<(bool IsHeader, string Name, string Value)> RecoverInputs(AuditEvent e, Side old)
    {
        if (e.Route is { } id && e.Resource is { } resource && old.Routes.TryGetValue(id, out var route)
            && route.Resource.ReadsQueryOrHeaders && route.Resource.TryRecoverInputs(resource, out var inputs))
        {
            return inputs;
        }

        return [];
    }

    /// <summary>One policy, ready to decide replayed calls: its route table and an evaluator with no stores.</summary>
    private sealed class Side
    {
        private readonly ReplayTokens _tokens = new();
        private readonly RouteTable _table;
        private readonly AuthorizationEvaluator _evaluator;

        public Side(GatewayPolicy policy, ReplayClock clock)
        {
            var snapshot = new PolicySnapshot(policy, _tokens);
            Routes = snapshot.Routes;
            _table = new RouteTable(snapshot);
            _evaluator = new AuthorizationEvaluator(clock, budgets: null);
        }

        public System.Collections.Frozen.FrozenDictionary<string, CompiledRoute> Routes { get; }

        public string Decide(AuditEvent e, CapabilityToken token, List<(bool IsHeader, string Name, string Value)> inputs)
        {
            var context = new DefaultHttpContext();
            var request = context.Request;
            request.Method = e.Request!.Method;
            request.Path = e.Request.Path;
            var query = new QueryBuilder();
            foreach (var (isHeader, name, value) in inputs)
            {
                if (isHeader)
                {
                    request.Headers.Append(name, value);
                }
                else
                {
                    query.Add(name, value);
                }
            }

            request.QueryString = query.ToQueryString();
            request.Headers.Authorization = "Bearer replay";
            _tokens.Current = token;
            var values = new RouteValueDictionary();
            var guard = RequestPathGuard.CheckPath(request.Path.Value);
            var route = guard is null ? _table.Match(request.Method, request.Path.Value!, values) : null;
            request.RouteValues = values;
            var pending = _evaluator.EvaluateAsync(context, route);

            // Without stores and with the token in hand every check completes synchronously.
            var decision = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
            if (guard is not null)
            {
                decision.Refuse(GatewayError.InvalidRequest, guard, "path");
            }

            return decision.ErrorCode is { Length: > 0 } code ? $"{decision.Outcome} {code}" : decision.Outcome;
        }
    }

    /// <summary>Hands the evaluator the token the audit recorded, as the validator once did.</summary>
    private sealed class ReplayTokens : ITokenValidator
    {
        public CapabilityToken? Current { get; set; }

        public ValueTask<TokenValidationResult> ValidateAsync(string token, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TokenValidationResult.Success(Current!));
    }

    /// <summary>The time of the call being replayed, so step-up ages are judged as they were then.</summary>
    private sealed class ReplayClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}

/// <summary>The replay of an audit log against two policies.</summary>
public sealed record ReplayResult
{
    /// <summary>Calls decided by both policies.</summary>
    public long Replayed { get; init; }

    /// <summary>Of those, decided the same way.</summary>
    public long Unchanged { get; init; }

    public long Unreadable { get; init; }

    /// <summary>
    /// Replayed calls the old policy decides otherwise than the gateway did at the time: refusals by budgets or
    /// approvals, which a replay does not reproduce, or an OLD file that is not the policy that was in force.
    /// </summary>
    public long DiffersFromRecord { get; init; }

    /// <summary>Calls that could not be replayed, by why.</summary>
    public required IReadOnlyDictionary<string, long> Skipped { get; init; }

    /// <summary>Calls whose decision changes, grouped by the route that decided them, the agent and the two decisions.</summary>
    public required IReadOnlyList<ReplayChange> Changes { get; init; }
}

/// <summary><see cref="Count"/> calls of <see cref="Agent"/> on <see cref="Route"/> that were decided <see cref="Old"/> and would be <see cref="New"/>.</summary>
public sealed record ReplayChange(string Route, string Agent, string Old, string New, long Count);
