using Gateway.Tokens;

namespace Gateway.Revocation;

/// <summary>
/// The replica's last <see cref="Capacity"/> allowed calls (the token and when it was let through), so that when a
/// revocation arrives it can tell how many calls it let through between its creation and its arrival, and how late
/// the last one was: <c>gateway.revocation.let_through</c>. Written on every allowed call, read only when a rule
/// arrives.
/// </summary>
/// <remarks>
/// A fixed ring of slots, allocated once at the first call: writing one costs an interlocked increment of the shared position, one
/// interlocked exchange on the slot and two plain stores, with no allocation and no lock. Each slot is a small
/// seqlock: its version is odd while a writer fills it, so a scan that meets a slot being rewritten under it skips
/// that slot rather than pairing one call's token with another's time. (Two writers a whole ring apart on one
/// slot, the first preempted while the second laps the ring, can still pair them; the error is then within one
/// lap's time, and never more than the ring holds.) Holding tokens keeps at most
/// <see cref="Capacity"/> of them alive; calls of one token share one object.
/// </remarks>
internal sealed class AllowedCallLog
{
    /// <summary>Default slots: 4096, a few seconds of a busy replica's calls, far more than a propagation lag of milliseconds.</summary>
    public const int DefaultCapacity = 4096;

    private readonly int _capacity;
    private readonly int _mask;
    private Slot[]? _slots;
    private readonly TimeProvider _time;
    private long _written;

    public AllowedCallLog(TimeProvider time, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        if (!int.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be a power of two.");
        }

        _time = time;
        _capacity = capacity;
        _mask = capacity - 1;
    }

    public int Capacity => _capacity;

    /// <summary>Notes that a call of <paramref name="token"/> was let through now.</summary>
    public void Record(CapabilityToken token)
    {
        var slots = _slots ?? Allocate();
        var timestamp = _time.GetTimestamp();
        var sequence = Interlocked.Increment(ref _written);
        ref var slot = ref slots[(int)(sequence & _mask)];

        // Odd first, with a full fence, so no reader can see the new token or time under the old even version.
        Interlocked.Exchange(ref slot.Version, (sequence * 2) - 1);
        slot.Token = token;
        slot.Timestamp = timestamp;
        Volatile.Write(ref slot.Version, sequence * 2);
    }

    /// <summary>The calls <paramref name="rule"/> matches that were let through after its <see cref="RevocationRule.CreatedAt"/>.</summary>
    public LetThrough Find(RevocationRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (Volatile.Read(ref _slots) is not { } slots)
        {
            return default;
        }

        var (now, nowTimestamp) = (_time.GetUtcNow(), _time.GetTimestamp());
        var created = CreatedTimestamp(rule, now, nowTimestamp);
        var calls = 0;
        var latest = long.MinValue;
        for (var i = 0; i < slots.Length; i++)
        {
            if (Read(slots, i) is ({ } token, var at) && at > created && rule.Matches(token))
            {
                calls++;
                latest = Math.Max(latest, at);
            }
        }

        return calls == 0 ? default : new LetThrough(calls, _time.GetElapsedTime(created, latest));
    }

    /// <summary>
    /// <see cref="Find(RevocationRule)"/> for each of <paramref name="rules"/> (a resync, a first load), in one pass
    /// over the ring: the calls are indexed by the claim values they carry, so each rule looks up its value instead of
    /// scanning every slot.
    /// </summary>
    public LetThrough[] Find(IReadOnlyList<RevocationRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var found = new LetThrough[rules.Count];
        if (rules.Count == 0 || Volatile.Read(ref _slots) is not { } slots)
        {
            return found;
        }

        var (now, nowTimestamp) = (_time.GetUtcNow(), _time.GetTimestamp());
        var calls = new List<(CapabilityToken Token, long At)>(slots.Length);
        var byValue = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < slots.Length; i++)
        {
            if (Read(slots, i) is not ({ } token, var at))
            {
                continue;
            }

            var index = calls.Count;
            calls.Add((token, at));
            Index(byValue, token.Jti, index);
            Index(byValue, token.Subject, index);
            Index(byValue, token.ClientId, index);
            foreach (var actor in token.Actors)
            {
                Index(byValue, actor, index);
            }

            foreach (var ancestor in token.Chain)
            {
                Index(byValue, ancestor, index);
            }
        }

        for (var r = 0; r < rules.Count; r++)
        {
            var rule = rules[r];
            if (!byValue.TryGetValue(rule.Value, out var candidates))
            {
                continue;
            }

            var created = CreatedTimestamp(rule, now, nowTimestamp);
            var count = 0;
            var latest = long.MinValue;
            var previous = -1;
            foreach (var index in candidates)
            {
                // A token carrying the value twice (as its sub and an agent, say) is listed twice: one call is one call.
                if (index == previous)
                {
                    continue;
                }

                previous = index;
                var (token, at) = calls[index];
                if (at > created && rule.Matches(token))
                {
                    count++;
                    latest = Math.Max(latest, at);
                }
            }

            found[r] = count == 0 ? default : new LetThrough(count, _time.GetElapsedTime(created, latest));
        }

        return found;
    }

    /// <summary>
    /// The slots, made by the first call recorded: an index that never sees one (<c>gateway test</c> makes one per
    /// case, <c>explain</c> one per run) never pays for the 96 KB.
    /// </summary>
    private Slot[] Allocate()
    {
        var fresh = new Slot[_capacity];
        return Interlocked.CompareExchange(ref _slots, fresh, null) ?? fresh;
    }

    private static (CapabilityToken? Token, long At) Read(Slot[] slots, int i)
    {
        ref var slot = ref slots[i];
        var version = Volatile.Read(ref slot.Version);
        if (version == 0 || (version & 1) != 0)
        {
            return default;
        }

        var token = slot.Token;
        var at = slot.Timestamp;

        // The reads above must not move past the second look at the version.
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref slot.Version) == version ? (token, at) : default;
    }

    /// <summary>
    /// The rule's creation on this replica's monotonic clock: its <see cref="RevocationRule.CreatedAt"/> is the
    /// creating replica's wall clock, so the difference between the two replicas' clocks is part of every gap, as
    /// it is of the propagation lag. A creation time ahead of this replica's clock counts as now.
    /// </summary>
    private long CreatedTimestamp(RevocationRule rule, DateTimeOffset now, long nowTimestamp)
    {
        var age = now - rule.CreatedAt;
        if (age <= TimeSpan.Zero)
        {
            return nowTimestamp;
        }

        return nowTimestamp - (long)(age.TotalSeconds * _time.TimestampFrequency);
    }

    private static void Index(Dictionary<string, List<int>> byValue, string? value, int index)
    {
        if (value is null)
        {
            return;
        }

        if (!byValue.TryGetValue(value, out var list))
        {
            byValue[value] = list = [];
        }

        list.Add(index);
    }

    private struct Slot
    {
        public long Version;
        public CapabilityToken? Token;
        public long Timestamp;
    }
}

/// <summary>What a revocation let through on this replica before it arrived.</summary>
/// <param name="Calls">Allowed calls it matches, made after its creation; a lower bound when more calls than the log holds were allowed in between.</param>
/// <param name="LargestGap">The last such call's time minus the rule's creation; zero without calls.</param>
public readonly record struct LetThrough(int Calls, TimeSpan LargestGap);
