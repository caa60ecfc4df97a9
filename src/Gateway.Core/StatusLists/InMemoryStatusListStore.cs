namespace Gateway.StatusLists;

/// <summary>The published status list in this process only (<c>store: memory</c>, one replica).</summary>
public sealed class InMemoryStatusListStore(TimeProvider? timeProvider = null) : IStatusListStore
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (HashSet<long> Indices, DateTimeOffset Expires)> _byJti = new(StringComparer.Ordinal);
    private byte[] _bits = [];
    private long _next;

    public ValueTask<long> AllocateAsync(string jti, IReadOnlyList<string> ancestors, DateTimeOffset expires, int size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jti);
        ArgumentNullException.ThrowIfNull(ancestors);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 8);
        lock (_lock)
        {
            var index = _next++ % size;
            Grow(size);
            _bits[index / 8] &= (byte)~(1 << (int)(index % 8));
            var now = _time.GetUtcNow();
            foreach (var id in ancestors.Prepend(jti))
            {
                var (indices, until) = _byJti.TryGetValue(id, out var found) && found.Expires > now ? found : (new HashSet<long>(), expires);
                indices.Add(index);
                _byJti[id] = (indices, until > expires ? until : expires);
            }

            // Expired records go the way Redis key TTLs would; swept now and then rather than on every mint.
            if (_next % 1024 == 0)
            {
                foreach (var key in _byJti.Where(p => p.Value.Expires <= now).Select(p => p.Key).ToList())
                {
                    _byJti.Remove(key);
                }
            }

            return ValueTask.FromResult(index);
        }
    }

    public ValueTask<int> RevokeAsync(string jti, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jti);
        lock (_lock)
        {
            if (!_byJti.TryGetValue(jti, out var entry) || entry.Expires <= _time.GetUtcNow())
            {
                return ValueTask.FromResult(0);
            }

            foreach (var index in entry.Indices)
            {
                _bits[index / 8] |= (byte)(1 << (int)(index % 8));
            }

            return ValueTask.FromResult(entry.Indices.Count);
        }
    }

    public ValueTask<byte[]> ReadAsync(int size, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Grow(size);
            return ValueTask.FromResult(_bits.AsSpan(0, size / 8).ToArray());
        }
    }

    private void Grow(int size)
    {
        if (_bits.Length < size / 8)
        {
            Array.Resize(ref _bits, size / 8);
        }
    }
}
