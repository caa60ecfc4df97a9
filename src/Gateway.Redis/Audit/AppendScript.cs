namespace Gateway.Redis.Audit;

/// <summary>
/// Appends a batch to the stream and moves the replica's head, atomically, skipping events the head
/// already covers: a batch retried after a lost reply is then stored once. One round trip per batch.
/// </summary>
internal static class AppendScript
{
    public const int StreamKey = 0;
    public const int HeadKey = 1;

    /// <summary>ARGV: MAXLEN, trim mode (<c>~</c> or <c>=</c>), head TTL in ms, then (seq, hash, event JSON) per event.</summary>
    public const string Text = """
        local head = redis.call('GET', KEYS[2])
        local last = 0
        if head then
          last = tonumber(string.match(head, '^%d+')) or 0
        end
        local newHead = false
        local added = 0
        for i = 4, #ARGV, 3 do
          local seq = tonumber(ARGV[i])
          if seq > last then
            redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], ARGV[1], '*', 'event', ARGV[i + 2])
            last = seq
            newHead = ARGV[i] .. ' ' .. ARGV[i + 1]
            added = added + 1
          end
        end
        if newHead then
          redis.call('SET', KEYS[2], newHead, 'PX', ARGV[3])
        end
        return added
        """;
}
