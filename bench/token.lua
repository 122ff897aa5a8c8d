-- grantd's own wrk script, used by bench/run.sh when the shared side-by-side
-- benchmark is not available: POSTs a form to the token endpoint with HTTP
-- Basic client authentication and prints one machine-readable result line.
--
--   BENCH_PATH   request path            (default /oauth/token)
--   BENCH_BASIC  base64(client_id:client_secret)   (required)
--   BENCH_BODY   form body               (default grant_type=client_credentials)
--
-- No response() callback: wrk then skips body callbacks and stays lean; it
-- still counts non-2xx/3xx answers itself (summary.errors.status).

local basic = os.getenv("BENCH_BASIC")
if basic == nil or basic == "" then
  error("BENCH_BASIC must be base64(client_id:client_secret)")
end

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/oauth/token"
wrk.body = os.getenv("BENCH_BODY") or "grant_type=client_credentials"
wrk.headers["Authorization"] = "Basic " .. basic
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "grantd-bench requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
