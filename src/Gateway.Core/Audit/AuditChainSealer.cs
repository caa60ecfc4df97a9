using System.Buffers;
using System.Text;

namespace Gateway.Audit;

/// <summary>
/// One replica's chain: gives each event its <c>seq</c>, <c>prev_hash</c> and <c>hash</c> and serializes
/// a batch into one reused buffer. Used by the writer's single consumer only, so it takes no locks.
/// </summary>
internal sealed class AuditChainSealer
{
    private readonly string _replica;
    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly ArrayBufferWriter<byte> _batch = new(64 * 1024);
    private readonly List<(int Start, int Length, long Seq, string Hash)> _sealed = [];
    private readonly List<AuditRecord> _records = [];
    private long _seq;
    private string _prevHash;

    public AuditChainSealer(string replica, AuditChainHead? head)
    {
        _replica = replica;
        _seq = head?.Seq ?? 0;
        _prevHash = head?.Hash ?? AuditChain.GenesisHash;
    }

    /// <summary>The last sealed event, or null before the first.</summary>
    public AuditChainHead? Head => _seq == 0 ? null : new AuditChainHead(_replica, _seq, _prevHash);

    /// <summary>
    /// Chains <paramref name="events"/> in order. An event that cannot be serialized is left out (and
    /// reported to <paramref name="onFailure"/>) without taking a place in the chain. The records are
    /// valid until the next call.
    /// </summary>
    public IReadOnlyList<AuditRecord> Seal(List<AuditEvent> events, Action<AuditEvent, Exception> onFailure)
    {
        _batch.ResetWrittenCount();
        _sealed.Clear();
        _records.Clear();
        foreach (var auditEvent in events)
        {
            // The hash covers prev_hash's UTF-8 bytes then the JSON: written side by side in one buffer,
            // one SHA-256 call hashes both.
            _scratch.ResetWrittenCount();
            var jsonStart = Encoding.UTF8.GetBytes(_prevHash, _scratch.GetSpan(Encoding.UTF8.GetMaxByteCount(_prevHash.Length)));
            _scratch.Advance(jsonStart);
            int hashOffset;
            try
            {
                hashOffset = AuditEventSerializer.WriteWithoutHash(auditEvent, _replica, _seq + 1, _prevHash, _scratch);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                onFailure(auditEvent, ex);
                continue;
            }

            var json = _scratch.WrittenSpan[jsonStart..];
            var hash = AuditChain.ComputeHash(_scratch.WrittenSpan);
            var start = _batch.WrittenCount;
            AuditChain.SpliceHash(json, hashOffset, hash, _batch);
            _seq++;
            _prevHash = hash;
            _sealed.Add((start, _batch.WrittenCount - start, _seq, hash));
        }

        // Slices are taken only now: the buffer may have moved while it grew.
        var memory = _batch.WrittenMemory;
        foreach (var (start, length, seq, hash) in _sealed)
        {
            _records.Add(new AuditRecord(_replica, seq, hash, memory.Slice(start, length)));
        }

        return _records;
    }
}
