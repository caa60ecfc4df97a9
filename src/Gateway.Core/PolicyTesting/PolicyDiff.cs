using System.Globalization;
using Gateway.Policy;

namespace Gateway.PolicyTesting;

/// <summary>
/// What a policy edit changes (<c>gateway diff OLD NEW</c>): routes added, removed and changed, tiers and
/// budgets changed. Routes are compared by id on their effective values (a route's own override, else its
/// tier's), so moving a route to another tier shows the risk, intent and approval it now gets.
/// </summary>
public sealed record PolicyDiff
{
    public required IReadOnlyList<RouteSummary> AddedRoutes { get; init; }
    public required IReadOnlyList<RouteSummary> RemovedRoutes { get; init; }
    public required IReadOnlyList<ChangedItem> ChangedRoutes { get; init; }
    public required IReadOnlyList<string> AddedTiers { get; init; }
    public required IReadOnlyList<string> RemovedTiers { get; init; }
    public required IReadOnlyList<ChangedItem> ChangedTiers { get; init; }

    /// <summary>Budget settings changed (<c>budgets.steps.default</c>, <c>budgets.risk.*</c>).</summary>
    public required IReadOnlyList<FieldChange> Budgets { get; init; }

    /// <summary>Gateway-wide settings that change decisions (<c>gateway.mode</c>, lifetimes, delegation depth...).</summary>
    public required IReadOnlyList<FieldChange> Gateway { get; init; }

    public bool IsEmpty => AddedRoutes.Count + RemovedRoutes.Count + ChangedRoutes.Count + AddedTiers.Count + RemovedTiers.Count
        + ChangedTiers.Count + Budgets.Count + Gateway.Count == 0;

    public static PolicyDiff Compare(GatewayPolicy before, GatewayPolicy after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var oldRoutes = Compile(before);
        var newRoutes = Compile(after);
        var changedRoutes = new List<ChangedItem>();
        foreach (var (id, route) in oldRoutes)
        {
            if (newRoutes.TryGetValue(id, out var next))
            {
                var changes = Changes(RouteFields(route), RouteFields(next));
                if (changes.Count > 0)
                {
                    changedRoutes.Add(new ChangedItem(id, changes));
                }
            }
        }

        var changedTiers = new List<ChangedItem>();
        foreach (var (name, tier) in before.Tiers)
        {
            if (after.Tiers.TryGetValue(name, out var next))
            {
                var changes = Changes(TierFields(tier, before), TierFields(next, after));
                if (changes.Count > 0)
                {
                    changedTiers.Add(new ChangedItem(name, changes));
                }
            }
        }

        return new PolicyDiff
        {
            AddedRoutes = [.. newRoutes.Values.Where(r => !oldRoutes.ContainsKey(r.Id)).Select(Summary)],
            RemovedRoutes = [.. oldRoutes.Values.Where(r => !newRoutes.ContainsKey(r.Id)).Select(Summary)],
            ChangedRoutes = changedRoutes,
            AddedTiers = [.. after.Tiers.Keys.Where(t => !before.Tiers.ContainsKey(t))],
            RemovedTiers = [.. before.Tiers.Keys.Where(t => !after.Tiers.ContainsKey(t))],
            ChangedTiers = changedTiers,
            Budgets = Changes(BudgetFields(before.Budgets), BudgetFields(after.Budgets)),
            Gateway = Changes(GatewayFields(before.Gateway), GatewayFields(after.Gateway)),
        };
    }

    /// <summary>Routes in the policy's order, compiled as the gateway compiles them (effective risk, intent, approval, mode).</summary>
    internal static Dictionary<string, CompiledRoute> Compile(GatewayPolicy policy)
    {
        var routes = new Dictionary<string, CompiledRoute>(StringComparer.Ordinal);
        foreach (var route in policy.Routes)
        {
            routes[route.Id] = new CompiledRoute(route, policy.TierOf(route), policy.Gateway, policy.Sha256);
        }

        return routes;
    }

    private static RouteSummary Summary(CompiledRoute route) => new(
        route.Id,
        string.Join(",", route.Route.Methods),
        route.Route.Path,
        route.Action,
        route.Resource.Text,
        route.Tier.Name,
        route.Risk,
        Words.Mode(route.Mode));

    private static List<(string Field, string Value)> RouteFields(CompiledRoute route) =>
    [
        ("methods", string.Join(",", route.Route.Methods)),
        ("path", route.Route.Path),
        ("upstream", route.Route.Upstream),
        ("action", route.Action),
        ("resource", route.Resource.Text),
        ("tier", route.Tier.Name),
        ("risk", Words.Number(route.Risk)),
        ("min_intent", Words.Intent(route.MinIntent)),
        ("step_up", Words.StepUp(route.StepUp)),
        ("approval", route.Approval == ApprovalRequirement.Required ? "required" : "none"),
        ("mode", Words.Mode(route.Mode)),
        ("irreversible", route.Irreversible ? "true" : "false"),
    ];

    private static List<(string Field, string Value)> TierFields(TierSettings tier, GatewayPolicy policy) =>
    [
        ("rank", Words.Number(tier.Rank)),
        ("risk", Words.Number(tier.Risk)),
        ("min_intent", Words.Intent(tier.MinIntent)),
        ("approval", tier.Approval == ApprovalRequirement.Required ? "required" : "none"),
        ("approvers", string.Join(",", tier.Approvers ?? policy.Approvals.Approvers)),
        ("self_approval", tier.SelfApproval ? "true" : "false"),
        ("approver_step_up", Words.StepUp(tier.ApproverStepUp)),
        ("irreversible", tier.Irreversible ? "true" : "false"),
    ];

    private static List<(string Field, string Value)> BudgetFields(BudgetSettings budgets) =>
    [
        ("steps.default", Words.Number(budgets.DefaultSteps)),
        ("risk.limit", Words.Number(budgets.RiskLimit)),
        ("risk.window", PolicyDuration.Format(budgets.RiskWindow)),
        ("risk.on_exceed", budgets.OnExceed == RiskExceedAction.Deny ? "deny" : "approval"),
    ];

    private static List<(string Field, string Value)> GatewayFields(GatewaySettings gateway) =>
    [
        ("mode", Words.Mode(gateway.Mode)),
        ("audience", gateway.Audience),
        ("max_token_lifetime", PolicyDuration.Format(gateway.MaxTokenLifetime)),
        ("clock_skew", PolicyDuration.Format(gateway.ClockSkew)),
        ("max_delegation_depth", Words.Number(gateway.MaxDelegationDepth)),
        ("sender_constraint", gateway.SenderConstraint == SenderConstraint.Required ? "required" : "optional"),
        ("max_request_body_bytes", Words.Number(gateway.MaxRequestBodyBytes)),
    ];

    private static List<FieldChange> Changes(List<(string Field, string Value)> before, List<(string Field, string Value)> after)
    {
        var changes = new List<FieldChange>();
        for (var i = 0; i < before.Count; i++)
        {
            if (!string.Equals(before[i].Value, after[i].Value, StringComparison.Ordinal))
            {
                changes.Add(new FieldChange(before[i].Field, before[i].Value, after[i].Value));
            }
        }

        return changes;
    }

    private static class Words
    {
        public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

        public static string Mode(EnforcementMode mode) => mode == EnforcementMode.Shadow ? "shadow" : "enforce";

        public static string Intent(IntentMethod intent) => intent switch
        {
            IntentMethod.Explicit => "explicit",
            IntentMethod.StepUp => "step_up",
            _ => "policy",
        };

        public static string StepUp(StepUpSettings? stepUp) =>
            stepUp is null
                ? "none"
                : $"acr [{string.Join(",", stepUp.Acr)}]" + (stepUp.MaxAge is { } age ? $" max_age {PolicyDuration.Format(age)}" : "");
    }
}

/// <summary>A route as a one-line summary, for added and removed routes.</summary>
public sealed record RouteSummary(string Id, string Methods, string Path, string Action, string Resource, string Tier, int Risk, string Mode);

/// <summary>A route or tier present in both policies, with what differs.</summary>
public sealed record ChangedItem(string Name, IReadOnlyList<FieldChange> Changes);

public sealed record FieldChange(string Field, string Old, string New);
