namespace Gateway.Budgets;

/// <summary>
/// Risk windows are fixed and aligned to multiples of their length since the Unix epoch (a 24h window
/// rolls at 00:00 UTC). Chosen over a sliding log because an account is then one counter, whatever the
/// call rate; a charge is O(1); the key expires exactly when its window ends; every replica computes the
/// same window from the time alone; and "retry after" is exact. The price is the usual fixed-window
/// edge: up to twice the limit can be spent across one boundary, which a risk budget (that asks for
/// approval, not a hard quota) can afford.
/// </summary>
internal static class FixedWindow
{
    public static long StartMs(long nowMs, long windowMs) => nowMs - (nowMs % windowMs);

    public static long ToMilliseconds(TimeSpan span) => (long)span.TotalMilliseconds;
}
