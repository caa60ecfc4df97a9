using Gateway.Policy;
using Gateway.Revocation;
using Microsoft.Extensions.Logging;

namespace Gateway.StatusLists;

/// <summary>
/// The revocation store, with each <c>jti</c> rule also set in the published status list: every path that revokes
/// (<c>POST /revocations</c>, <c>/oauth/revoke</c>, Shared Signals) stores its rule here, once, on the replica that
/// received it, so the list follows without a hook in each. Only <c>jti</c> rules without a cut-off are published: the
/// list knows which children each <c>jti</c> covers (their own and their ancestors'), not their agents, users or issue times.
/// </summary>
public sealed partial class StatusPublishingRevocationStore(IRevocationStore inner, IStatusListStore lists, PolicyMonitor policies, ILogger<StatusPublishingRevocationStore> logger) : IRevocationStore
{
    public async ValueTask AddAsync(RevocationRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await inner.AddAsync(rule, cancellationToken);
        if (rule.Kind != RevocationKind.Jti || rule.IssuedBefore is not null || policies.Current.Policy.Delegation?.StatusList is null)
        {
            return;
        }

        try
        {
            var count = await lists.RevokeAsync(rule.Value, cancellationToken);
            LogPublished(logger, rule.Id, count);
        }
        catch (StatusListStoreUnavailableException e)
        {
            // The rule is stored and every replica enforces it; only relying parties reading the list miss it. Failing the
            // revocation would make the analyst retry something that already took effect.
            LogPublishFailed(logger, rule.Id, e);
        }
    }

    public ValueTask<IReadOnlyList<RevocationRule>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

    public ValueTask<string> GetVersionAsync(CancellationToken cancellationToken) => inner.GetVersionAsync(cancellationToken);

    public ValueTask<IAsyncDisposable> SubscribeAsync(Action<RevocationRule> onAdded, CancellationToken cancellationToken) => inner.SubscribeAsync(onAdded, cancellationToken);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Debug, Message = "Revocation {RuleId} set {Count} entries of the published status list")]
    private static partial void LogPublished(ILogger logger, string ruleId, int count);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Warning, Message = "Revocation {RuleId} is enforced, but could not be set in the published status list")]
    private static partial void LogPublishFailed(ILogger logger, string ruleId, Exception exception);
}
