-- wrk script for the refresh scenario: every request exchanges a live
-- refresh token, and the refresh token of each answer goes back in the pool,
-- so no request is a replay. Sessions are prepared by bench/run.sh.
--
--   BENCH_BASIC        base64(client_id:client_secret)   (required)
--   BENCH_TOKENS_FILE  one refresh token per line        (required)
--   BENCH_PATH         request path (default /oauth/token)
--
-- Each wrk thread takes every n-th line of the file. A pool must hold more
-- tokens than the thread has connections: a connection with no token to
-- send sends a known-bad one, which counts as an error.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local pool = {}
local basic = os.getenv("BENCH_BASIC")
local path = os.getenv("BENCH_PATH") or "/oauth/token"

function init(args)
  local n = 0
  for _ in pairs(threads) do n = n + 1 end
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do
    if i % nthreads == id and line ~= "" then
      table.insert(pool, line)
    end
    i = i + 1
  end
end

function request()
  local token = table.remove(pool) or "pool-empty"
  return wrk.format("POST", path, {
    ["Authorization"] = "Basic " .. basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local next = string.match(body, '"refresh_token":"([^"]+)"')
  if next then
    table.insert(pool, next)
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
