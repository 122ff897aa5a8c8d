#!/usr/bin/env bash
# grantd token-endpoint benchmark, run on demand (never in tests or CI).
#
#   bench/run.sh                 # build, start grantd, load it, compare with peers
#   bench/run.sh > report.md     # stdout is the Markdown report; progress goes to stderr
#
# What it does: builds grantd in release; starts it on a free loopback port
# (127.0.0.1:0) with a fresh temporary data directory, GRANTD_ADMIN_TOKEN set
# and GRANTD_LOG=warn; measures the time from spawn to its "grantd listening
# on URL" line; registers one server-only client_credentials app per scenario
# through the admin API; then loads POST /oauth/token for each scenario:
#
#   cc-jwt     client_credentials, JWT access tokens (the default: sign, no write)
#   cc-opaque  client_credentials, opaque access tokens (one SQLite insert per request)
#   jwt-bearer the JWT grant: a user's credential verified, a session opened with
#              its pair (one unit of work per request; the user's oldest sessions end)
#   refresh    refresh rotation: a pool of sessions, each refreshed in turn, so no
#              request is a replay (one unit of work per request; bench/refresh.lua)
#
# With BENCH_DATABASE_URL=postgres://USER@HOST:PORT/DB, grantd runs on a fresh
# PostgreSQL database created on that server for the run (and dropped after)
# instead of SQLite; compare both by running the script twice.
#
# When the shared side-by-side benchmark exists ($SHARED_BENCH/compare.sh), each
# scenario is measured through it, in the same run as the peers (the HTTP
# ceiling and node oidc-provider), and ratios grantd / peer are reported.
# Otherwise grantd alone is measured with bench/token.lua.
# Also reports peak RSS (VmHWM) of the grantd process and the time to ready
# (fresh data directory, and again on restart with the existing one).
#
# Environment:
#   DURATION (8s)  CONNS (32)  THREADS (2)        wrk load, per target
#   SCENARIOS ("cc-jwt cc-opaque")  also: jwt-bearer refresh
#   POOL (256)     sessions in the refresh scenario's pool
#   PEERS          passed to compare.sh (its default "ceiling oidc-provider"; empty = grantd only)
#   SHARED_BENCH   the shared benchmark (default: ../shared/bench from the repo root)
#   NO_SHARED=1    ignore the shared benchmark, measure grantd alone
#   CARGO_TARGET_DIR (/tmp/grantd-bench-target)   GRANTD_BIN: use this binary, skip the build
#   GRANTD_REV     build this committed revision (git archive into a temp dir) instead
#                  of the work tree, e.g. GRANTD_REV=HEAD while the tree is mid-edit
#   BENCH_BODY     token request body (default grant_type=client_credentials&scope=api)
#   ROUNDS (1)     repeat every scenario (interleaved); the bars use the median
#   IDLE_WAIT (120) seconds to wait, before each load, for the machine to be ≥ 90% idle
#   STRICT=1       exit 3 when a quality bar is missed
#   KEEP_TMP=1     keep the temporary directory (data dir, grantd's stderr)
# Needs: cargo, curl, wrk (installed with apt-get when missing and run as root);
# compare.sh also needs node + npm for the oidc-provider peer.
# Exit status: 0 ok; 1 grantd answered non-2xx or failed to start; 3 bars missed (STRICT=1).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$root/bench
DURATION=${DURATION:-8s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
SCENARIOS=${SCENARIOS:-"cc-jwt cc-opaque"}
SHARED_BENCH=${SHARED_BENCH:-$root/../shared/bench}
target_dir=${CARGO_TARGET_DIR:-/tmp/grantd-bench-target}
BENCH_BODY=${BENCH_BODY:-grant_type=client_credentials&scope=api}

say() { printf '%s\n' "bench: $*" >&2; }
die() { say "$*"; exit 1; }

# Microseconds since the epoch, without forking.
now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$t"; }

# --- tools -------------------------------------------------------------------
command -v curl >/dev/null || die "curl not found"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing wrk (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  fi
  command -v wrk >/dev/null || die "wrk not found: apt-get install -y wrk"
fi

use_shared=0
if [ "${NO_SHARED:-0}" != 1 ] && [ -x "$SHARED_BENCH/compare.sh" ]; then
  use_shared=1
  SHARED_BENCH=$(cd "$SHARED_BENCH" && pwd)
fi

# --- build -------------------------------------------------------------------
if [ -n "${GRANTD_BIN:-}" ]; then
  bin=$GRANTD_BIN
else
  src=$root
  if [ -n "${GRANTD_REV:-}" ]; then
    # A committed revision, exported outside the work tree (which may be mid-edit).
    commit=$(git -C "$root" rev-parse --verify "$GRANTD_REV^{commit}") || die "no revision $GRANTD_REV"
    src=${TMPDIR:-/tmp}/grantd-bench-src-${commit:0:12}
    if [ ! -f "$src/Cargo.toml" ]; then
      rm -rf "$src.part" && mkdir -p "$src.part"
      git -C "$root" archive "$commit" | tar -x -m -C "$src.part"
      mv "$src.part" "$src"
    fi
  fi
  # Cargo decides freshness of workspace crates by file times, and hashes them by
  # path relative to the workspace root: after building another source tree into
  # the same target dir it could reuse that tree's artifacts. So when the source
  # changed since the last build here, drop the workspace crates' artifacts first.
  stamp=$target_dir/grantd-bench-source
  want="$src ${commit:-work-tree}"
  if [ -d "$target_dir/release" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    pkgs=()
    for toml in "$src"/crates/*/Cargo.toml; do
      pkgs+=(-p "$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$toml" | head -n 1)")
    done
    (cd "$src" && CARGO_TARGET_DIR="$target_dir" cargo clean -q --release "${pkgs[@]}")
  fi
  say "building grantd from $src (release, target dir $target_dir)"
  (cd "$src" && CARGO_TARGET_DIR="$target_dir" cargo build --release -q -p grantd)
  mkdir -p "$target_dir" && printf '%s\n' "$want" >"$stamp"
  bin=$target_dir/release/grantd
fi
[ -x "$bin" ] || die "no grantd binary at $bin"

# --- grantd process ----------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/grantd-bench.XXXXXX")
admin=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
gpid=""
drain_pid=""

stop_grantd() {
  if [ -n "$gpid" ] && kill -0 "$gpid" 2>/dev/null; then
    kill -TERM "$gpid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gpid" 2>/dev/null || true
    wait "$gpid" 2>/dev/null || true
  fi
  gpid=""
  if [ -n "$drain_pid" ]; then
    kill "$drain_pid" 2>/dev/null || true
    wait "$drain_pid" 2>/dev/null || true
    drain_pid=""
  fi
}
cleanup() {
  stop_grantd
  drop_db
  if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts grantd on a free loopback port with the data dir $tmp/data; sets
# gpid, GURL and ready_ms (spawn → "grantd listening on URL" on stdout).
start_grantd() {
  local fifo=$tmp/stdout.fifo line t0 t1 fd
  rm -f "$fifo"
  mkfifo "$fifo"
  t0=$(now_us)
  env -u GRANTD_CONFIG -u GRANTD_DATABASE_URL -u GRANTD_ISSUER -u GRANTD_AUDIENCE \
    -u GRANTD_MASTER_KEY -u GRANTD_LOG_FORMAT \
    GRANTD_LISTEN=127.0.0.1:0 GRANTD_DATA_DIR="$tmp/data" GRANTD_ADMIN_TOKEN="$admin" \
    GRANTD_LOG=warn ${db_url:+GRANTD_DATABASE_URL=$db_url} "$bin" serve >"$fifo" 2>>"$tmp/grantd.stderr" &
  gpid=$!
  exec {fd}<"$fifo"
  while :; do
    if ! IFS= read -r -t 30 line <&"$fd"; then
      exec {fd}<&-
      tail -n 20 "$tmp/grantd.stderr" >&2 || true
      die "grantd did not print its listening line within 30 s"
    fi
    case $line in "grantd listening on "*) break ;; esac
  done
  t1=$(now_us)
  ready_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
  GURL=${line#grantd listening on }
  # Keep reading its stdout so a later write never blocks.
  cat <&"$fd" >>"$tmp/grantd.stdout" &
  drain_pid=$!
  exec {fd}<&-
  case $GURL in http://127.0.0.1:*) ;; *) die "grantd is not on loopback: $GURL" ;; esac
}

# PostgreSQL: a database of its own for this run, dropped at exit.
db_url=""
db_name=""
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  command -v psql >/dev/null || die "BENCH_DATABASE_URL needs psql"
  db_name=grantd_bench_$$
  psql -q "$BENCH_DATABASE_URL" -c "CREATE DATABASE $db_name" || die "cannot create $db_name"
  db_url="${BENCH_DATABASE_URL%/*}/$db_name"
fi
drop_db() {
  if [ -n "$db_name" ]; then
    psql -q "$BENCH_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}

# kB of a /proc/PID/status field (VmHWM: peak resident set; VmRSS: now).
proc_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$gpid/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Registers a server-only client_credentials app; prints "client_id client_secret".
register_app() { # name extra-json-fields
  local body resp code json id secret
  local grants='"grants":["client_credentials"],'
  case $2 in *'"grants"'*) grants="" ;; esac
  body="{\"name\":\"$1\",\"platform_type\":\"server-only\",$grants\"scopes\":[\"api\"]$2}"
  resp=$(curl -sS --max-time 10 -X POST "$GURL/admin/v1/apps" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "$body" -w '\n%{http_code}')
  code=${resp##*$'\n'}
  json=${resp%$'\n'*}
  [ "${code:0:1}" = 2 ] || die "registering app $1 failed ($code): $json"
  id=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' <<<"$json")
  secret=$(sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p' <<<"$json")
  [ -n "$id" ] && [ -n "$secret" ] || die "no client_id/client_secret in: $json"
  printf '%s %s\n' "$id" "$secret"
}

# A user with a JWT credential; prints the credential (the assertion).
new_credential() { # index
  local user cred
  user=$(curl -sS --max-time 10 -X POST "$GURL/admin/v1/users" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' -d "{\"email\":\"bench$1@example.com\",\"name\":\"Bench $1\"}")
  user=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$user")
  [ -n "$user" ] || die "creating bench user $1 failed"
  cred=$(curl -sS --max-time 10 -X POST "$GURL/admin/v1/users/$user/jwt-credentials" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"label":"bench"}')
  cred=$(sed -n 's/.*"jwt":"\([^"]*\)".*/\1/p' <<<"$cred")
  [ -n "$cred" ] || die "creating a JWT credential for bench user $1 failed"
  printf '%s\n' "$cred"
}

# Opens POOL sessions (one user each) and writes their refresh tokens to $1.
prepare_refresh_pool() { # file basic round
  local i jwt resp token
  : >"$1"
  for ((i = 0; i < ${POOL:-256}; i++)); do
    jwt=$(new_credential "pool$3-$i")
    resp=$(curl -sS --max-time 10 -X POST "$GURL/oauth/token" -H "Authorization: Basic $2" \
      -H 'Content-Type: application/x-www-form-urlencoded' \
      -d "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$jwt")
    token=$(sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' <<<"$resp")
    [ -n "$token" ] || die "refresh pool: no refresh token in $resp"
    printf '%s\n' "$token" >>"$1"
  done
}

# grantd alone with bench/refresh.lua; prints "grantd rps p50_ms p99_ms non2xx -".
load_refresh() { # basic tokens-file
  local out
  out=$(BENCH_PATH=/oauth/token BENCH_BASIC="$1" BENCH_TOKENS_FILE="$2" BENCH_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$here/refresh.lua" "$GURL" 2>&1) ||
    die "wrk failed: $out"
  awk '/^grantd-bench / {
         for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "grantd %d %.2f %.2f %d -\n", v["rps"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["non2xx"] + v["socket_errors"]
       }' <<<"$out"
}

# One token request before the load: it must succeed with the expected kind of token.
check_token() { # scenario basic body
  local resp code json token
  resp=$(curl -sS --max-time 10 -X POST "$GURL/oauth/token" -H "Authorization: Basic $2" \
    -H 'Content-Type: application/x-www-form-urlencoded' -d "$3" -w '\n%{http_code}')
  code=${resp##*$'\n'}
  json=${resp%$'\n'*}
  [ "$code" = 200 ] || die "$1: token request answered $code: $json"
  token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$json")
  case $1:$token in
    cc-jwt:eyJ*.*.*) ;;
    cc-opaque:eyJ*) die "$1: expected an opaque token, got a JWT" ;;
    cc-opaque:?*) ;;
    jwt-bearer:eyJ*.*.*) ;;
    *) die "$1: unexpected token response: $json" ;;
  esac
}

# grantd alone, with bench/token.lua; prints "grantd rps p50_ms p99_ms non2xx -".
load_alone() { # basic body
  local out
  out=$(BENCH_PATH=/oauth/token BENCH_BASIC="$1" BENCH_BODY="$2" \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$here/token.lua" "$GURL" 2>&1) ||
    die "wrk failed: $out"
  awk '/^grantd-bench / {
         for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "grantd %d %.2f %.2f %d -\n", v["rps"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["non2xx"] + v["socket_errors"]
       }' <<<"$out"
}

# Percent of the machine's CPU time that was idle over one second.
idle_pct() {
  local a b
  read -r -a a </proc/stat; sleep 1; read -r -a b </proc/stat
  awk -v u1="${a[1]}" -v n1="${a[2]}" -v s1="${a[3]}" -v i1="${a[4]}" -v w1="${a[5]}" -v q1="${a[6]}" -v r1="${a[7]}" -v t1="${a[8]}" \
      -v u2="${b[1]}" -v n2="${b[2]}" -v s2="${b[3]}" -v i2="${b[4]}" -v w2="${b[5]}" -v q2="${b[6]}" -v r2="${b[7]}" -v t2="${b[8]}" \
      'BEGIN { tot = (u2+n2+s2+i2+w2+q2+r2+t2) - (u1+n1+s1+i1+w1+q1+r1+t1); printf "%d", (tot > 0 ? 100 * ((i2+w2) - (i1+w1)) / tot : 0) }'
}
# Waits (at most IDLE_WAIT seconds) for the machine to be ≥ 90% idle; prints the last idle %.
wait_quiet() {
  local p=0 i
  for ((i = 0; i < ${IDLE_WAIT:-120}; i++)); do
    p=$(idle_pct)
    [ "$p" -ge 90 ] && break
    [ "$i" = 0 ] && say "machine busy (${p}% idle); waiting up to ${IDLE_WAIT:-120} s for it to settle"
  done
  printf '%s' "$p"
}
# Clock ticks of CPU (user + system) grantd has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$gpid/stat"; }
seconds_of() { # wrk duration (8s, 1m, 10) → seconds
  awk -v d="$1" 'BEGIN { n = d + 0; u = substr(d, length(d)); print (u == "m" ? n * 60 : u == "h" ? n * 3600 : n) }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- run ---------------------------------------------------------------------
ROUNDS=${ROUNDS:-1}
say "starting grantd ($bin)"
start_grantd
ready_fresh_ms=$ready_ms
curl -sf --max-time 5 "$GURL/readyz" >/dev/null || die "grantd at $GURL is not ready"
rss_idle_kb=$(proc_kb VmRSS)
say "grantd ready at $GURL in $ready_fresh_ms ms (pid $gpid)"

declare -A basic_of body_of
for scenario in $SCENARIOS; do
  body_of[$scenario]=$BENCH_BODY
  case $scenario in
    cc-jwt) extra="" ;;
    cc-opaque) extra=',"access_token_format":"opaque"' ;;
    jwt-bearer | refresh) extra=',"grants":["jwt_bearer","refresh_token"]' ;;
    *) die "unknown scenario $scenario (cc-jwt, cc-opaque, jwt-bearer, refresh)" ;;
  esac
  creds=$(register_app "bench-$scenario" "$extra")
  read -r cid secret <<<"$creds"
  basic_of[$scenario]=$(printf '%s:%s' "$cid" "$secret" | base64 -w0)
  case $scenario in
    jwt-bearer)
      body_of[$scenario]="grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$(new_credential login)" ;;
    refresh) continue ;; # its pool is opened before each round's load
  esac
  check_token "$scenario" "${basic_of[$scenario]}" "${body_of[$scenario]}"
done

rows=()          # "scenario round target rps p50 p99 non2xx ratio"
runs=()          # "scenario round idle% cpu-µs-per-request"
hwm_after=()     # "scenario kB"
status=0
secs=$(seconds_of "$DURATION")
hz=$(getconf CLK_TCK)
for ((round = 1; round <= ROUNDS; round++)); do
  for scenario in $SCENARIOS; do
    basic=${basic_of[$scenario]}
    if [ "$scenario" = refresh ]; then
      # A new pool each round: the last round's tokens were all exchanged.
      say "refresh: opening ${POOL:-256} sessions for round $round's pool"
      prepare_refresh_pool "$tmp/refresh-tokens" "$basic" "$round"
    fi
    idle=$(wait_quiet)
    c0=$(cpu_ticks)
    if [ "$scenario" = refresh ]; then
      say "refresh (round $round/$ROUNDS): grantd alone with bench/refresh.lua ($DURATION, $CONNS connections; machine ${idle}% idle)"
      r=$(load_refresh "$basic" "$tmp/refresh-tokens")
      [ -n "$r" ] || die "refresh: no result from wrk"
      # No peer rotates refresh tokens the same way; the ratio is to the HTTP
      # ceiling measured for cc-jwt in this round, when it was.
      ceiling=$(printf '%s\n' "${rows[@]}" | awk -v n="$round" '$1 == "cc-jwt" && $2 == n && $3 == "ceiling" { print $4 }')
      r=$(awk -v c="${ceiling:-0}" '{ $6 = (c > 0 ? sprintf("%.2f", $2 / c) : "-"); print }' <<<"$r")
      rows+=("$scenario $round $r")
      [ "$(awk '{print $5}' <<<"$r")" = 0 ] || status=1
    elif [ "$use_shared" = 1 ]; then
      say "$scenario (round $round/$ROUNDS): $SHARED_BENCH/compare.sh (PEERS=${PEERS-default}, $DURATION each, $CONNS connections; machine ${idle}% idle)"
      rc=0
      out=$(GRANTD_URL=$GURL GRANTD_BASIC=$basic GRANTD_PATH=/oauth/token GRANTD_BODY=${body_of[$scenario]} \
        DURATION=$DURATION CONNS=$CONNS THREADS=$THREADS "$SHARED_BENCH/compare.sh") || rc=$?
      [ "$rc" = 0 ] || { say "$scenario: compare.sh exited $rc"; status=1; }
      got=$(awk -F'|' -v s="$scenario" -v n="$round" 'NF >= 8 && $2 !~ /target|---/ {
          for (i = 2; i <= 7; i++) gsub(/^ +| +$/, "", $i)
          print s, n, $2, $3, $4, $5, $6, $7 }' <<<"$out")
      grep -q "^$scenario $round grantd " <<<"$got" || die "$scenario: no result from compare.sh: $out"
      while read -r r; do rows+=("$r"); done <<<"$got"
    else
      say "$scenario (round $round/$ROUNDS): grantd alone with bench/token.lua ($DURATION, $CONNS connections; machine ${idle}% idle)"
      r=$(load_alone "$basic" "${body_of[$scenario]}")
      [ -n "$r" ] || die "$scenario: no result from wrk"
      rows+=("$scenario $round $r")
      [ "$(awk '{print $5}' <<<"$r")" = 0 ] || status=1
    fi
    c1=$(cpu_ticks)
    # grantd is idle while compare.sh loads the peers, so its CPU time is the load's.
    g_rps=$(printf '%s\n' "${rows[@]}" | awk -v s="$scenario" -v n="$round" '$1 == s && $2 == n && $3 == "grantd" { print $4 }')
    cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v r="$g_rps" -v d="$secs" 'BEGIN { printf "%.0f", (r > 0 ? t / hz * 1e6 / (r * d) : 0) }')
    runs+=("$scenario $round $idle $cpu")
  done
  hwm_after+=("round-$round $(proc_kb VmHWM)")
done
rss_peak_kb=$(proc_kb VmHWM)
rss_end_kb=$(proc_kb VmRSS)

say "restarting grantd on the same data directory"
stop_grantd
start_grantd
ready_restart_ms=$ready_ms
stop_grantd

# --- report (stdout) ---------------------------------------------------------
if [ -n "${GRANTD_BIN:-}" ]; then
  rev="binary $GRANTD_BIN"
elif [ -n "${GRANTD_REV:-}" ]; then
  rev=${commit:0:7}
else
  rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$root" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || rev="$rev + uncommitted changes"
fi
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "## grantd token endpoint — $(date -u +%Y-%m-%d) — $rev"
echo
echo "$(nproc) cores ($cpu_model); wrk -t$THREADS -c$CONNS -d$DURATION on the same machine, loopback;"
echo "body \`$BENCH_BODY\`, HTTP Basic client auth; $([ "$use_shared" = 1 ] && echo "peers via $SHARED_BENCH/compare.sh" || echo "grantd alone (bench/token.lua)"); $ROUNDS round(s)."
echo "Store: $([ -n "$db_url" ] && echo "PostgreSQL (a fresh database on ${BENCH_DATABASE_URL%%@*}@…)" || echo "SQLite (a fresh data directory)")."
echo "The peers always run client_credentials; for jwt-bearer and refresh the ratio is to that same ceiling (the refresh row's, to this round's cc-jwt ceiling)."
echo
echo "| scenario | round | target | req/s | p50 ms | p99 ms | non-2xx | grantd / target |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
  read -r s n t rps p50 p99 bad ratio <<<"$r"
  echo "| $s | $n | $t | $rps | $p50 | $p99 | $bad | $ratio |"
done
echo
echo "| scenario | round | machine idle before | grantd CPU per request (≈) |"
echo "|---|---|---|---|"
for r in "${runs[@]}"; do
  read -r s n idle cpu <<<"$r"
  echo "| $s | $n | $idle% | $cpu µs |"
done
echo
echo "| grantd process | value |"
echo "|---|---|"
echo "| ready, fresh data dir (spawn → listening line) | $ready_fresh_ms ms |"
echo "| ready, restart on existing data dir | $ready_restart_ms ms |"
echo "| RSS idle after start | $(mb "$rss_idle_kb") MB |"
for h in "${hwm_after[@]}"; do
  read -r s k <<<"$h"
  echo "| peak RSS (VmHWM) after $s | $(mb "$k") MB |"
done
echo "| RSS at end | $(mb "$rss_end_kb") MB |"

# Quality bars (product spec): the median over rounds, for every scenario.
field() { # scenario target column(4=rps 6=p99 8=ratio) → median over rounds
  printf '%s\n' "${rows[@]}" | awk -v s="$1" -v t="$2" -v c="$3" '$1 == s && $3 == t && $c != "-" { print $c }' | median
}
missed=0
bar() { # label value ok(1/0/"") threshold
  local verdict
  case $3 in 1) verdict=pass ;; 0) verdict="**miss**"; missed=1 ;; *) verdict="n/a" ;; esac
  echo "| $1 | $2 | $4 | $verdict |"
}
meets() { awk -v a="$1" -v b="$2" -v op="$3" 'BEGIN { if (a == "" || a == "-") { print ""; exit }
  print ((op == ">=" && a + 0 >= b + 0) || (op == "<" && a + 0 < b + 0)) ? 1 : 0 }'; }
echo
echo "| quality bar$([ "$ROUNDS" -gt 1 ] && echo " (median of $ROUNDS rounds)") | measured | bar | verdict |"
echo "|---|---|---|---|"
for scenario in $SCENARIOS; do
  p=$(field "$scenario" grantd 6)
  case $scenario in
    refresh | jwt-bearer)
      # Writes: the product's bar is 30 % of the (read-only) HTTP ceiling.
      if [ "$scenario" = refresh ]; then c=$(field refresh grantd 8); else c=$(field "$scenario" ceiling 8); fi
      bar "$scenario: grantd / ceiling" "${c:-–}" "$(meets "$c" 0.30 '>=')" "≥ 0.30" ;;
    *)
      c=$(field "$scenario" ceiling 8); o=$(field "$scenario" oidc-provider 8)
      bar "$scenario: grantd / ceiling" "${c:-–}" "$(meets "$c" 0.80 '>=')" "≥ 0.80"
      bar "$scenario: grantd / oidc-provider" "${o:-–}" "$(meets "$o" 6 '>=')" "≥ 6" ;;
  esac
  if [ "$CONNS" = 32 ]; then
    bar "$scenario: p99 at 32 connections" "$p ms" "$(meets "$p" 10 '<')" "< 10 ms"
  fi
done
bar "peak RSS" "$(mb "$rss_peak_kb") MB" "$(meets "$(mb "$rss_peak_kb")" 100 '<')" "< 100 MB"
bar "ready (fresh data dir)" "$ready_fresh_ms ms" "$(meets "$ready_fresh_ms" 200 '<')" "< 200 ms"
echo
echo "Machines are noisy: compare ratios from one run, not absolute figures across runs."
busy=$(printf '%s\n' "${runs[@]}" | awk '$3 < 90' | wc -l)
if [ "$busy" -gt 0 ]; then
  echo "Warning: $busy load(s) started on a machine less than 90% idle; other work skews these figures."
fi

if [ "$status" != 0 ]; then exit "$status"; fi
if [ "${STRICT:-0}" = 1 ] && [ "$missed" = 1 ]; then exit 3; fi
exit 0
