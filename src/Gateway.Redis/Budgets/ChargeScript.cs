using System.Security.Cryptography;
using System.Text;

namespace Gateway.Redis.Budgets;

/// <summary>
/// The charge as one Lua script: one round trip, atomic on the server, whichever replica sends it.
/// One call carries one or more charges (<see cref="ChargeBatcher"/>), applied in order, each exactly
/// as if it had been sent alone.
/// </summary>
internal static class ChargeScript
{
    /// <summary>Index (0-based, C# side) of the (sub, agent) risk account among one charge's keys.</summary>
    public const int RiskKey = 0;

    /// <summary>Index of the token's own step account among one charge's keys; its ancestors follow, nearest first.</summary>
    public const int OwnStepsKey = 1;

    /// <summary>Arguments per charge (<c>ARGV</c>), the first of them its number of keys.</summary>
    public const int ArgsPerCharge = 11;

    /// <summary>Values the script returns per charge.</summary>
    public const int RepliesPerCharge = 5;

    /// <summary>The SHA1 Redis knows the script by (<c>EVALSHA</c>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "Redis names scripts by SHA1; it is an identifier here, not a protection.")]
    public static readonly byte[] Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Text));

    // Each charge reads and decides first and writes only when every check passes, so a refused call
    // changes nothing. Charges of one call run one after another inside the one script, so a later one
    // sees what an earlier one wrote, exactly as two calls would. Every key comes in KEYS (never built
    // here) and every key of one call shares one Redis Cluster slot (ChargeBatcher groups by slot), so
    // the script runs on Redis Cluster. Numbers computed here go back to Redis through
    // string.format('%d'): Lua numbers are doubles, and how Redis renders one as an argument depends on
    // its version (a float or exponent form would be stored by HSET as is and refused by PEXPIRE).
    //
    // Every command is paid on every allowed call, on the same CPUs as the proxy, so the steady state
    // (an account already open, a window already running) is one HMGET and one HINCRBY per account.
    // What rarely changes (a step account's limit and expiry, a risk window's limit and expiry) is
    // written only when it does, which the fields read anyway tell.
    //
    // Per charge, KEYS: the risk account of (sub, agent); the token's step account; ancestors, nearest
    // first. ARGV (11 per charge, offset a): a+1 its number of keys, a+2 the token's max steps, a+3
    // default steps for an unseen ancestor, a+4 step account TTL (ms), a+5 risk, a+6 risk limit, a+7
    // window start (Unix ms), a+8 window length (ms), a+9 now (Unix ms), a+10 '1' to admit past the
    // risk limit, a+11 step account expiry (Unix ms: the token's exp plus the grace, the same on every
    // replica).
    // Step account fields: max, used, exp (the latest expiry it was extended to). Risk account
    // fields: w (window start), win (window length), lim, used.
    // Returns, per charge, {outcome (0 allowed, 1 steps, 2 risk), exhausted (1 = the token, 2.. = its
    // ancestors in order), steps left, risk left, window start}.
    public const string Text = """
        local function int(n) return string.format('%d', n) end

        local function charge(k, a)
          local nkeys = tonumber(ARGV[a + 1])
          local own_max = tonumber(ARGV[a + 2])
          local default_max = tonumber(ARGV[a + 3])
          local risk = tonumber(ARGV[a + 5])
          local limit = tonumber(ARGV[a + 6])
          local window_start = tonumber(ARGV[a + 7])
          local now = tonumber(ARGV[a + 9])
          local expires = tonumber(ARGV[a + 11])
          local risk_key = KEYS[k + 1]

          local accounts = {}
          local steps_left = nil
          local exhausted = 0
          for i = 2, nkeys do
            local account = redis.call('HMGET', KEYS[k + i], 'max', 'used', 'exp')
            accounts[i] = account
            local max = tonumber(account[1]) or default_max
            -- The token's own limit is signed into it; an account opened by a child only guessed it.
            if i == 2 then max = own_max end
            local left = max - (tonumber(account[2]) or 0)
            if steps_left == nil or left < steps_left then steps_left = left end
            if left <= 0 and exhausted == 0 then exhausted = i - 1 end
          end

          local used = 0
          local stored = redis.call('HMGET', risk_key, 'w', 'used', 'lim')
          local stored_start = tonumber(stored[1])
          local window_open = stored_start ~= nil and stored_start >= window_start
          if window_open then
            -- A window already opened is kept even if this replica's clock says an earlier one is current.
            window_start = stored_start
            used = tonumber(stored[2]) or 0
          end

          if exhausted > 0 then
            return 1, exhausted, steps_left, limit - used, window_start
          end
          if ARGV[a + 10] ~= '1' and used + risk > limit then
            return 2, 0, steps_left, limit - used, window_start
          end

          for i = 2, nkeys do
            local account = accounts[i]
            local key = KEYS[k + i]
            if i == 2 and account[1] ~= ARGV[a + 2] then
              redis.call('HSET', key, 'max', ARGV[a + 2])
            elseif i > 2 and account[1] == false then
              redis.call('HSET', key, 'max', ARGV[a + 3])
            end
            redis.call('HINCRBY', key, 'used', 1)
            -- Only ever extended: an account lives until the latest expiry of any token charged to it,
            -- so a sibling that outlives the child that opened it cannot find it gone and refilled.
            if (tonumber(account[3]) or 0) < expires then
              redis.call('HSET', key, 'exp', ARGV[a + 11])
              redis.call('PEXPIRE', key, ARGV[a + 4])
            end
          end

          if risk > 0 then
            if window_open then
              used = redis.call('HINCRBY', risk_key, 'used', ARGV[a + 5])
              if stored[3] ~= ARGV[a + 6] then redis.call('HSET', risk_key, 'lim', ARGV[a + 6]) end
            else
              used = risk
              redis.call('HSET', risk_key, 'w', int(window_start), 'win', ARGV[a + 8], 'lim', ARGV[a + 6], 'used', int(used))
              redis.call('PEXPIRE', risk_key, int(math.max(window_start + tonumber(ARGV[a + 8]) - now, 1)))
            end
          end

          return 0, 0, steps_left - 1, limit - used, window_start
        end

        local out = {}
        local k, a = 0, 0
        while a < #ARGV do
          local n = #out
          out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = charge(k, a)
          k = k + tonumber(ARGV[a + 1])
          a = a + 11
        end
        return out
        """;
}
