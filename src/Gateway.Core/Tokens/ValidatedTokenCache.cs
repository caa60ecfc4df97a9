using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Gateway.Tokens;

/// <summary>
/// Validated tokens by <see cref="TokenDigest"/>, so an agent's second call with the same token costs a hash
/// and a dictionary lookup instead of a signature check. Each entry lives until the token's <c>exp</c>.
/// Only successes are stored: a cache of refusals keyed by attacker-chosen strings would let garbage evict
/// real tokens, and refusing garbage is already cheap (it fails before any cryptography) or bounded by the
/// signature check. Revocation is not cached here; it is checked on every request after validation.
/// </summary>
internal sealed class ValidatedTokenCache
{
    private readonly ConcurrentDictionary<TokenDigest, Entry> _entries;
    private readonly int _capacity;
    private readonly TimeProvider _timeProvider;
    private int _count;
    private int _evicting;

    public ValidatedTokenCache(int capacity, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _capacity = capacity;
        _timeProvider = timeProvider;
        _entries = new ConcurrentDictionary<TokenDigest, Entry>(Environment.ProcessorCount, Math.Min(capacity, 1024));
    }

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(in TokenDigest digest, [NotNullWhen(true)] out TokenValidationResult? result)
    {
        if (_entries.TryGetValue(digest, out var entry))
        {
            if (_timeProvider.GetUtcNow().UtcTicks < entry.ExpiresTicks)
            {
                result = entry.Result;
                return true;
            }

            Remove(digest, entry);
        }

        result = null;
        return false;
    }

    public void Add(in TokenDigest digest, TokenValidationResult result, DateTimeOffset expires)
    {
        if (_capacity == 0)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= _capacity)
        {
            Evict();
            if (Volatile.Read(ref _count) >= _capacity)
            {
                // Another thread is evicting; skip caching this one rather than wait or overfill.
                return;
            }
        }

        if (_entries.TryAdd(digest, new Entry(result, expires.UtcTicks)))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>
    /// Drops expired entries, then arbitrary ones until a tenth of the capacity is free. Arbitrary is cheap
    /// (enumeration order follows the hash, so it is effectively random) and keeps the hit path free of the
    /// bookkeeping an LRU would need. Batching makes the O(n) walk rare.
    /// </summary>
    private void Evict()
    {
        if (Interlocked.Exchange(ref _evicting, 1) == 1)
        {
            return;
        }

        try
        {
            var now = _timeProvider.GetUtcNow().UtcTicks;
            var target = Math.Max(1, _capacity / 10);
            var freed = 0;
            foreach (var (digest, entry) in _entries)
            {
                if (entry.ExpiresTicks <= now && Remove(digest, entry))
                {
                    freed++;
                }
            }

            if (freed >= target)
            {
                return;
            }

            foreach (var (digest, entry) in _entries)
            {
                if (Remove(digest, entry) && ++freed >= target)
                {
                    break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _evicting, 0);
        }
    }

    private bool Remove(TokenDigest digest, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<TokenDigest, Entry>(digest, entry)))
        {
            Interlocked.Decrement(ref _count);
            return true;
        }

        return false;
    }

    private readonly record struct Entry(TokenValidationResult Result, long ExpiresTicks);
}
