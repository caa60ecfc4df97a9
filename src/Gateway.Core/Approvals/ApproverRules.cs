using Gateway.Admin;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Approvals;

/// <summary>
/// Who may approve a call: the tier's <c>approvers</c> (else <c>approvals.approvers</c>), its
/// <c>self_approval</c> and <c>approver_step_up</c>, read from the policy in force when the human decides.
/// An admin key names no person, so a rule about the person (subject, self-approval, step-up) needs the
/// approver to present their own capability token in <c>Approver-Token</c>, granting
/// <see cref="Action"/> on <c>gateway:approval/{id}</c>.
/// </summary>
internal static class ApproverRules
{
    public const string Header = "Approver-Token";
    public const string Action = "gateway.approvals:approve";

    public static string Resource(string id) => "gateway:approval/" + id;

    public static async ValueTask<ApproverCheck> CheckAsync(
        ApprovalRecord record, bool approve, string keyId, string? approverToken, PolicySnapshot snapshot, TimeProvider time, CancellationToken cancellationToken)
    {
        CapabilityToken? approver = null;
        if (approverToken is not null)
        {
            var validation = await snapshot.Tokens.ValidateAsync(approverToken, cancellationToken);
            if (!validation.IsValid)
            {
                return ApproverCheck.Refused("approver_token_invalid", $"The {Header} was refused: {validation.Failure!.Description}");
            }

            approver = validation.Token!;
            if (!ScopeEvaluator.IsInScope(approver, Action, Resource(record.Id)))
            {
                return ApproverCheck.Refused("approver_token_invalid", $"The {Header} must grant '{Action}' on '{Resource(record.Id)}' (or a pattern covering it).");
            }

            // An agent holds its user's token; that token must never double as the user's approval.
            if (string.Equals(approver.Jti, record.Jti, StringComparison.Ordinal) || record.TokenChain.Contains(approver.Jti, StringComparer.Ordinal))
            {
                return ApproverCheck.Refused("approver_not_allowed", "The token of the call itself (or of its delegation chain) cannot approve the call.");
            }
        }

        // Saying no needs only an admin key: denying can never widen what an agent does.
        if (!approve)
        {
            return ApproverCheck.Allowed(approver?.Subject);
        }

        if (!snapshot.Policy.Tiers.TryGetValue(record.Tier, out var tier))
        {
            return ApproverCheck.Refused("approver_not_allowed", $"The call's tier '{record.Tier}' is no longer in the policy, so no one may approve it; deny it or let it expire.");
        }

        if (tier.ApproverStepUp is { } stepUp)
        {
            if (approver is null)
            {
                return ApproverCheck.Refused("approver_step_up_required", $"Approving a {tier.Name}-tier call needs a fresh authentication of the approver: send an {Header}{StepUpWords(stepUp)}.");
            }

            if (stepUp.Acr.Count > 0 && (approver.Acr is null || !stepUp.Acr.Contains(approver.Acr, StringComparer.Ordinal)))
            {
                return ApproverCheck.Refused("approver_step_up_required", $"The {Header} must carry an acr of {string.Join(" or ", stepUp.Acr)}.");
            }

            if (stepUp.MaxAge is { } maxAge && (approver.AuthTime is not { } authTime || time.GetUtcNow() - authTime > maxAge + snapshot.Policy.Gateway.ClockSkew))
            {
                return ApproverCheck.Refused("approver_step_up_required", $"The {Header} must show an authentication within the last {(long)maxAge.TotalSeconds} seconds.");
            }
        }

        var isSubject = approver is not null && string.Equals(approver.Subject, record.Subject, StringComparison.Ordinal);
        if (!tier.SelfApproval)
        {
            if (approver is null)
            {
                return ApproverCheck.Refused("approver_not_allowed", $"The {tier.Name} tier forbids approving your own call, so the approver must say who they are with an {Header}.");
            }

            if (isSubject)
            {
                return ApproverCheck.Refused("approver_not_allowed", $"The {tier.Name} tier forbids approving your own call: '{record.Subject}' asked for it.");
            }
        }

        var approvers = tier.Approvers ?? snapshot.Policy.Approvals.Approvers;
        foreach (var name in approvers)
        {
            if (name == "admin"
                || (name == "subject" && isSubject)
                || (snapshot.Policy.Approvals.Groups.TryGetValue(name, out var group) && InGroup(group, keyId)))
            {
                return ApproverCheck.Allowed(approver?.Subject);
            }
        }

        return ApproverCheck.Refused("approver_not_allowed", $"Calls of the {tier.Name} tier may be approved only by: {string.Join(", ", approvers.Select(Describe))}.");
    }

    // Key ids are truncated digests, but only of keys the operator configured: a caller already holds a
    // valid admin key, and no one can choose a key to collide with another on purpose.
    private static bool InGroup(IReadOnlyList<string> group, string keyId) =>
        group.Any(digest => string.Equals(AdminKeyAuthenticator.KeyIdOf(digest), keyId, StringComparison.Ordinal));

    private static string Describe(string approver) => approver switch
    {
        "admin" => "any admin key",
        "subject" => $"the user the call is for (with an {Header})",
        _ => $"the admin keys of group '{approver}'",
    };

    private static string StepUpWords(StepUpSettings stepUp)
    {
        var parts = new List<string>();
        if (stepUp.Acr.Count > 0)
        {
            parts.Add($"acr {string.Join(" or ", stepUp.Acr)}");
        }

        if (stepUp.MaxAge is { } maxAge)
        {
            parts.Add($"auth_time within {(long)maxAge.TotalSeconds} seconds");
        }

        return parts.Count == 0 ? "" : $" with {string.Join(" and ", parts)}";
    }
}

/// <summary>Whether an approver may decide; <see cref="Error"/> is null when they may.</summary>
internal sealed record ApproverCheck(string? Error, string? Detail, string? ApproverSubject)
{
    public static ApproverCheck Allowed(string? subject) => new(null, null, subject);

    public static ApproverCheck Refused(string error, string detail) => new(error, detail, null);
}
