namespace Gateway.Revocation;

/// <summary>A rule this replica enforces from now on, and how late it came (for <c>gateway.revocation.lag</c>).</summary>
/// <param name="Rule">The rule.</param>
/// <param name="Lag">
/// This replica's clock when the rule was applied minus <see cref="RevocationRule.CreatedAt"/> (the creating replica's
/// clock), never negative. Clock differences between replicas are part of it.
/// </param>
/// <param name="Delivery">How the rule arrived.</param>
public readonly record struct RevocationApplied(RevocationRule Rule, TimeSpan Lag, RevocationDelivery Delivery);

public enum RevocationDelivery
{
    /// <summary>Pushed by the store's announcement (pub/sub): the normal, fast path.</summary>
    Announcement,

    /// <summary>Found by a periodic resync: the announcement was lost or came while disconnected.</summary>
    Resync,

    /// <summary>Loaded when the synchronizer started (or on its first successful load after starting with the store down).</summary>
    Startup,
}
