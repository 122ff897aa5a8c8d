-- wrk script for the scenarios whose requests each consume something: every
-- request takes one item (a refresh token, an authorization code, a token to
-- revoke) from a pool prepared by bench/run.sh, so no request is a replay.
--
--   BENCH_POOL_FILE  one item per line                        (required)
--   BENCH_METHOD     request method (default POST)
--   BENCH_PATH       request path (default /oauth/token)
--   BENCH_AUTH       the Authorization header's value, "{}" replaced by the item
--                    (e.g. "Basic <base64>", or "Bearer {}")
--   BENCH_BODY       the form body, "{}" replaced by the item (empty: no body)
--   BENCH_REFILL     a Lua pattern with one capture: what it captures in an
--                    answer goes back in the pool (refresh: the new refresh token)
--   BENCH_CYCLE=1    reuse items round-robin instead of consuming them (reads)
--   BENCH_THREADS    wrk's -t, so that each thread takes every n-th line
--
-- A pool must hold more items than the load consumes: a connection with no
-- item left sends "pool-empty", which counts as an error.

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local pool, next_item = {}, 1
local method = os.getenv("BENCH_METHOD") or "POST"
local path = os.getenv("BENCH_PATH") or "/oauth/token"
local auth = os.getenv("BENCH_AUTH") or ""
local body = os.getenv("BENCH_BODY") or ""
local refill = os.getenv("BENCH_REFILL")
if refill == "" then refill = nil end
local cycle = os.getenv("BENCH_CYCLE") == "1"

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
  local i = 0
  for line in io.lines(os.getenv("BENCH_POOL_FILE")) do
    if line ~= "" and (cycle or i % nthreads == id) then
      table.insert(pool, line)
    end
    i = i + 1
  end
end

local function fill(template, item)
  return (string.gsub(template, "{}", function() return item end))
end

function request()
  local item
  if cycle then
    item = pool[next_item] or "pool-empty"
    next_item = next_item % math.max(#pool, 1) + 1
  else
    item = table.remove(pool) or "pool-empty"
  end
  local headers = { ["Accept"] = "application/json" }
  if auth ~= "" then headers["Authorization"] = fill(auth, item) end
  local b = nil
  if body ~= "" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    b = fill(body, item)
  end
  return wrk.format(method, path, headers, b)
end

-- Only with a refill pattern: without a response() callback wrk skips
-- reading bodies into Lua and stays lean.
if refill then
  function response(status, headers, answer)
    local got = string.match(answer, refill)
    if got then table.insert(pool, got) end
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "grantd-bench requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
