-- wrk script of the load harness (run.sh sets the environment; see README.md).
--   LOAD_TOKENS      file with one token per line: one line = the repeated-token mix, more = a pool
--   LOAD_BODY_BYTES  POST body size in bytes (default 1024)
--   LOAD_METHOD      GET, POST, or MCP (a POST of an MCP tools/call, 2026-07-28 generation, to /bench/mcp)
--   LOAD_THINK_MS    mean think time per connection between requests (0 = closed loop, as fast as possible)
--   LOAD_REUSE       with a pool: requests per token before the next one replaces it (default 1)
-- Prints one machine-readable line at the end: WRK_RESULT key=value ...

local method = os.getenv("LOAD_METHOD") or "GET"
local token_file = assert(os.getenv("LOAD_TOKENS"), "LOAD_TOKENS is not set")
local body_bytes = tonumber(os.getenv("LOAD_BODY_BYTES") or "1024")
local think_ms = tonumber(os.getenv("LOAD_THINK_MS") or "0")
local reuse = tonumber(os.getenv("LOAD_REUSE") or "1")

local tokens = {}
for line in io.lines(token_file) do
  if #line > 0 then
    tokens[#tokens + 1] = line
  end
end
assert(#tokens > 0, "no token in " .. token_file)

if method == "MCP" then
  -- One stateless MCP tools/call of exactly body_bytes bytes, named in the headers as the
  -- 2026-07-28 generation requires; the padding is an argument, so the gateway parses all of it.
  wrk.method = "POST"
  wrk.path = "/bench/mcp"
  local head = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_item","arguments":{"id":"42","note":"'
  local tail = '"}}}'
  wrk.body = head .. string.rep("x", body_bytes - string.len(head) - string.len(tail)) .. tail
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = "get_item"
elseif method == "POST" then
  wrk.method = method
  -- A JSON document of exactly body_bytes bytes: {"data":"xxxx...x"}
  local overhead = string.len('{"data":""}')
  wrk.body = '{"data":"' .. string.rep("x", body_bytes - overhead) .. '"}'
  wrk.headers["Content-Type"] = "application/json"
end

if #tokens == 1 then
  -- The repeated-token mix: one static request, built once by wrk.
  wrk.headers["Authorization"] = "Bearer " .. tokens[1]
else
  -- The pool mixes: requests are formatted once in init and cycled through in order, from a
  -- random start per thread, so every token comes back only after all the others. With reuse > 1
  -- (the rotate mix) each token is sent that many times in a row before the next replaces it.
  local requests = {}
  local index = 0
  local uses = 0

  local threads = 0
  local base = nil
  function setup(thread)
    if base == nil then
      math.randomseed(os.time())
      base = math.random(#tokens)
    end
    -- Threads start far apart in the pool (golden-ratio spacing), so they do not share tokens.
    thread:set("start_index", (base + math.floor(threads * 0.618 * #tokens)) % #tokens)
    threads = threads + 1
  end

  function init(args)
    for i, token in ipairs(tokens) do
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["Authorization"] = "Bearer " .. token
      requests[i] = wrk.format(nil, nil, headers, wrk.body)
    end
    index = start_index or 1
  end

  function request()
    if uses == 0 then
      index = index % #requests + 1
    end
    uses = (uses + 1) % reuse
    return requests[index]
  end
end

if think_ms > 0 then
  -- Paced load: a think time between a response and the next request on each connection,
  -- uniform in [think/2, 3*think/2] so that connections do not fire in lockstep.
  local low = math.max(1, math.floor(think_ms / 2))
  local high = math.max(low, math.floor(think_ms * 3 / 2))
  function delay()
    return math.random(low, high)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.1f max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
