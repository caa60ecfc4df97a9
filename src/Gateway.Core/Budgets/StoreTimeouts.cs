namespace Gateway.Budgets;

/// <summary>
/// Timeout tokens shared by the calls that start close together: a call started now is given a token
/// that is cancelled between <c>timeout</c> and <c>timeout + timeout / 8</c> from now. One cancellation
/// source (and one timer) serves every call of an eighth of the timeout, instead of one per call.
/// </summary>
internal sealed class StoreTimeouts
{
    private readonly TimeProvider _time;
    private readonly long _timeoutTicks;
    private readonly long _slotTicks;
    private Slot? _current;

    public StoreTimeouts(TimeSpan timeout, TimeProvider time)
    {
        _time = time;
        _timeoutTicks = ToTimestampTicks(timeout, time);
        _slotTicks = Math.Max(_timeoutTicks / 8, 1);
    }

    public CancellationToken Current()
    {
        var now = _time.GetTimestamp();
        var slot = Volatile.Read(ref _current);

        // A slot serves calls until its deadline is more than the timeout plus one slot away from now.
        if (slot is not null && slot.Deadline - now >= _timeoutTicks)
        {
            return slot.Token;
        }

        var deadline = now + _timeoutTicks + _slotTicks;
        var fresh = new Slot(deadline, new CancellationTokenSource(_time.GetElapsedTime(now, now + _timeoutTicks + _slotTicks), _time));

        // Losing the race is harmless: the other thread's slot is as good, and this one's timer just fires.
        var seen = Interlocked.CompareExchange(ref _current, fresh, slot);
        return seen == slot ? fresh.Token : seen!.Token;
    }

    private static long ToTimestampTicks(TimeSpan span, TimeProvider time) =>
        (long)(span.Ticks * (double)time.TimestampFrequency / TimeSpan.TicksPerSecond);

    // Never disposed: calls may still hold the token after the slot is replaced; once its timer fired
    // the source holds nothing but its cancelled state, and the collector takes it with the slot.
    private sealed class Slot(long deadline, CancellationTokenSource source)
    {
        public long Deadline { get; } = deadline;

        public CancellationToken Token { get; } = source.Token;
    }
}
