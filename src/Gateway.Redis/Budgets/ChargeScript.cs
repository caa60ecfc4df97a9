using System.Security.Cryptography;
using System.Text;

namespace Gateway.Redis.Budgets;

/// <summary>The charge as one Lua script: one round trip, atomic on the server, whichever replica sends it.</summary>
internal static class ChargeScript
{
    /// <summary>Index in KEYS (0-based, C# side) of the (sub, agent) risk account.</summary>
    public const int RiskKey = 0;

    /// <summary>Index in KEYS of the token's own step account; its ancestors follow, nearest first.</summary>
    public const int OwnStepsKey = 1;

    /// <summary>The SHA1 Redis knows the script by (<c>EVALSHA</c>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "Redis names scripts by SHA1; it is an identifier here, not a protection.")]
    public static readonly byte[] Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Text));

    // Reads and decides first and writes only when every check passes, so a refused call changes
    // nothing. Every key comes in KEYS (never built here) and they share one hash tag, so the script
    // runs on Redis Cluster. Numbers computed here go back to Redis through string.format('%d'): Lua
    // numbers are doubles, and how Redis renders one as an argument depends on its version (a float
    // or exponent form would be stored by HSET as is and refused by PEXPIRE).
    //
    // Every command is paid on every allowed call, on the same CPUs as the proxy, so the steady state
    // (an account already open, a window already running) is four: one HMGET per account and one
    // HINCRBY per account. What rarely changes (a step account's limit and expiry, a risk window's
    // limit and expiry) is written only when it does, which the fields read anyway tell.
    //
    // KEYS: 1 risk account of (sub, agent); 2 the token's step account; 3.. ancestors, nearest first.
    // ARGV: 1 the token's max steps, 2 default steps for an unseen ancestor, 3 step account TTL (ms),
    //       4 risk, 5 risk limit, 6 window start (Unix ms), 7 window length (ms), 8 now (Unix ms),
    //       9 '1' to admit past the risk limit, 10 step account expiry (Unix ms: the token's exp plus
    //       the grace, the same on every replica).
    // Step account fields: max, used, exp (the latest expiry it was extended to). Risk account
    // fields: w (window start), win (window length), lim, used.
    // Returns {outcome (0 allowed, 1 steps, 2 risk), exhausted (1 = the token, 2.. = KEYS[3..]),
    //          steps left, risk left, window start}.
    public const string Text = """
        local function int(n) return string.format('%d', n) end
        local own_max = tonumber(ARGV[1])
        local default_max = tonumber(ARGV[2])
        local risk = tonumber(ARGV[4])
        local limit = tonumber(ARGV[5])
        local window_start = tonumber(ARGV[6])
        local now = tonumber(ARGV[8])
        local expires = tonumber(ARGV[10])

        local accounts = {}
        local steps_left = nil
        local exhausted = 0
        for i = 2, #KEYS do
          local account = redis.call('HMGET', KEYS[i], 'max', 'used', 'exp')
          accounts[i] = account
          local max = tonumber(account[1]) or default_max
          -- The token's own limit is signed into it; an account opened by a child only guessed it.
          if i == 2 then max = own_max end
          local left = max - (tonumber(account[2]) or 0)
          if steps_left == nil or left < steps_left then steps_left = left end
          if left <= 0 and exhausted == 0 then exhausted = i - 1 end
        end

        local used = 0
        local stored = redis.call('HMGET', KEYS[1], 'w', 'used', 'lim')
        local stored_start = tonumber(stored[1])
        local window_open = stored_start ~= nil and stored_start >= window_start
        if window_open then
          -- A window already opened is kept even if this replica's clock says an earlier one is current.
          window_start = stored_start
          used = tonumber(stored[2]) or 0
        end

        if exhausted > 0 then
          return {1, exhausted, steps_left, limit - used, window_start}
        end
        if ARGV[9] ~= '1' and used + risk > limit then
          return {2, 0, steps_left, limit - used, window_start}
        end

        for i = 2, #KEYS do
          local account = accounts[i]
          if i == 2 and account[1] ~= ARGV[1] then
            redis.call('HSET', KEYS[2], 'max', ARGV[1])
          elseif i > 2 and account[1] == false then
            redis.call('HSET', KEYS[i], 'max', ARGV[2])
          end
          redis.call('HINCRBY', KEYS[i], 'used', 1)
          -- Only ever extended: an account lives until the latest expiry of any token charged to it,
          -- so a sibling that outlives the child that opened it cannot find it gone and refilled.
          if (tonumber(account[3]) or 0) < expires then
            redis.call('HSET', KEYS[i], 'exp', ARGV[10])
            redis.call('PEXPIRE', KEYS[i], ARGV[3])
          end
        end

        if risk > 0 then
          if window_open then
            used = redis.call('HINCRBY', KEYS[1], 'used', ARGV[4])
            if stored[3] ~= ARGV[5] then redis.call('HSET', KEYS[1], 'lim', ARGV[5]) end
          else
            used = risk
            redis.call('HSET', KEYS[1], 'w', int(window_start), 'win', ARGV[7], 'lim', ARGV[5], 'used', int(used))
            redis.call('PEXPIRE', KEYS[1], int(math.max(window_start + tonumber(ARGV[7]) - now, 1)))
          end
        end

        return {0, 0, steps_left - 1, limit - used, window_start}
        """;
}
