using Gateway.Budgets;
using Gateway.Policy;

namespace Gateway.Approvals;

/// <summary>The admin API's view of an approval: what will change and how far it reaches. Field names are the wire names.</summary>
internal static class ApprovalJson
{
    public static Dictionary<string, object?> Summary(ApprovalRecord record, DateTimeOffset now) => new()
    {
        ["id"] = record.Id,
        ["status"] = record.EffectiveState(now).ToWord(),
        ["reason"] = record.Reason.ToWord(),
        ["route"] = record.Route,
        ["action"] = record.Action,
        ["resource"] = record.Resource,
        ["description"] = record.Description,
        ["tier"] = record.Tier,
        ["risk"] = record.Risk,
        ["irreversible"] = record.Irreversible,
        ["sub"] = record.Subject,
        ["agent"] = record.Agent,
        ["method"] = record.Method,
        ["path"] = record.Path,
        ["created_at"] = record.CreatedAt,
        ["expires_at"] = record.ExpiresAt,
        ["expires_in"] = ExpiresIn(record, now),
    };

    public static Dictionary<string, object?> Detail(ApprovalRecord record, DateTimeOffset now, BudgetSnapshot? budget, GatewayPolicy policy)
    {
        var json = Summary(record, now);
        json["token"] = new Dictionary<string, object?>
        {
            ["jti"] = record.Jti,
            ["sub"] = record.Subject,
            ["agent"] = record.Agent,
            ["chain"] = record.Actors,
            ["ancestors"] = record.TokenChain,
            ["expires_at"] = record.TokenExpires,
        };
        json["request"] = new Dictionary<string, object?>
        {
            ["method"] = record.Method,
            ["path"] = record.Path,
            ["content_type"] = record.ContentType,
            ["body_length"] = record.BodyLength,
            ["body_sha256"] = record.BodySha256,
            ["preview"] = record.BodyPreview,
            ["preview_truncated"] = record.BodyPreviewTruncated,
        };
        json["blast_radius"] = BlastRadius(record, budget, policy);
        json["approvers"] = Approvers(record, policy);
        json["decided_at"] = record.DecidedAt;
        json["decided_by"] = record.DecidedBy;
        json["decided_by_subject"] = record.DecidedBySubject;
        json["note"] = record.Note;
        json["used_at"] = record.UsedAt;
        json["used_by"] = record.UsedBy;
        json["policy_sha256"] = record.PolicySha256;
        json["trace_id"] = record.TraceId;
        json["decision_id"] = record.DecisionId;
        return json;
    }

    private static Dictionary<string, object?> BlastRadius(ApprovalRecord record, BudgetSnapshot? budget, GatewayPolicy policy)
    {
        // Live numbers when the budget store answers, else what the refusal saw.
        int? limit = budget?.RiskLimit ?? record.RiskLimit ?? policy.Budgets.RiskLimit;
        int? remaining = budget is null ? record.RiskRemaining : budget.RiskRemaining ?? Math.Max(0, limit.Value - budget.RiskUsed);
        return new Dictionary<string, object?>
        {
            ["irreversible"] = record.Irreversible,
            ["risk"] = record.Risk,
            ["risk_remaining"] = remaining,
            ["risk_limit"] = limit,
            ["risk_remaining_after"] = remaining - record.Risk,
            ["steps_remaining"] = budget?.StepsRemaining,
            ["grants"] = record.Grants.Select(g => new Dictionary<string, object?> { ["actions"] = g.Actions, ["resources"] = g.Resources }).ToList(),
            ["token_expires_at"] = record.TokenExpires,
        };
    }

    private static Dictionary<string, object?> Approvers(ApprovalRecord record, GatewayPolicy policy)
    {
        policy.Tiers.TryGetValue(record.Tier, out var tier);
        var stepUp = tier?.ApproverStepUp;
        return new Dictionary<string, object?>
        {
            ["allowed"] = tier?.Approvers ?? policy.Approvals.Approvers,
            ["self_approval"] = tier?.SelfApproval ?? true,
            ["step_up"] = stepUp is null ? null : new Dictionary<string, object?>
            {
                ["acr"] = stepUp.Acr,
                ["max_age"] = stepUp.MaxAge is { } age ? (long)age.TotalSeconds : null,
            },
            ["token_header"] = ApproverRules.Header,
        };
    }

    private static long ExpiresIn(ApprovalRecord record, DateTimeOffset now) =>
        Math.Max(0, (long)Math.Ceiling((record.ExpiresAt - now).TotalSeconds));
}
