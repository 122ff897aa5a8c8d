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
#   cc-jwt       client_credentials, JWT access tokens (the default: sign, no write)
#   cc-opaque    client_credentials, opaque access tokens (one insert per request)
#   jwt-bearer   the JWT grant: a user's credential verified, a session opened with
#                its pair (one unit of work per request; the user's oldest sessions end)
#   refresh      refresh rotation: a pool of sessions, each refreshed in turn, so no
#                request is a replay (one unit of work per request)
#   introspect-jwt, introspect-opaque
#                POST /oauth/introspect of one live access token of each format
#   code         the authorization-code exchange with PKCE: codes minted just before
#                the load through the real sign-in and consent pages (bench/client.py),
#                each exchanged once (a session opened per request)
#   userinfo     GET /oauth/userinfo with one user's bearer token
#   revoke       POST /oauth/revoke: a pool of opaque access tokens, each revoked once
# The scenarios that consume an item per request (refresh, code, revoke) and
# userinfo (a GET with a bearer token) run with bench/pool.lua; the others go
# through the shared side-by-side script when it exists.
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
#   POOL_DURATION (3s)  the load of code and revoke, whose pools each request uses up
#   SCENARIOS (all of the above)
#   POOL (256)     sessions in the refresh scenario's pool
#   CODES (20000)  authorization codes minted for each round of the code scenario
#   REVOKE_POOL (120000)  access tokens issued for each round of the revoke scenario
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
#   SEED=N         after the rounds, grow the store by N sessions and N tokens
#                  (and SEED_APPS, 10000, apps) with bench/seed.py, restart grantd
#                  and run every round again; reports large store / empty store
#   CALLGRIND=N    instead of the loads: grantd under valgrind's callgrind, N requests
#                  of each flow sent one at a time; prints instructions per request
#                  per flow, and the HTTP ceiling's counted the same way
# Needs: cargo, curl, openssl, python3, wrk (installed with apt-get when missing and run as root);
# compare.sh also needs node + npm for the oidc-provider peer.
# Exit status: 0 ok; 1 grantd answered non-2xx or failed to start; 3 bars missed (STRICT=1).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$root/bench
DURATION=${DURATION:-8s}
POOL_DURATION=${POOL_DURATION:-3s}
# How long a scenario's load lasts: code and revoke use their pools up at the
# load's rate, so a shorter load keeps each request a real one (codes live
# 60 s, so their pool cannot grow much).
duration_of() { case $1 in code | revoke) echo "$POOL_DURATION" ;; *) echo "$DURATION" ;; esac; }
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
SCENARIOS=${SCENARIOS:-"cc-jwt cc-opaque jwt-bearer refresh introspect-jwt introspect-opaque code userinfo revoke"}
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
valgrind=()
if [ -n "${CALLGRIND:-}" ]; then
  # Pools just large enough: every counted request (and the warm-up) takes a fresh item.
  POOL=${POOL:-$((CALLGRIND + 20))} CODES=${CODES:-$((CALLGRIND + 20))} REVOKE_POOL=${REVOKE_POOL:-$((CALLGRIND + 20))}
  command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || die "CALLGRIND needs valgrind"
  valgrind=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/callgrind.out.grantd")
fi
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
start_grantd() { # [listen address, default a free loopback port]
  local fifo=$tmp/stdout.fifo line t0 t1 fd
  rm -f "$fifo"
  mkfifo "$fifo"
  t0=$(now_us)
  env -u GRANTD_CONFIG -u GRANTD_DATABASE_URL -u GRANTD_ISSUER -u GRANTD_AUDIENCE \
    -u GRANTD_MASTER_KEY -u GRANTD_LOG_FORMAT \
    GRANTD_LISTEN=${1:-127.0.0.1:0} GRANTD_DATA_DIR="$tmp/data" GRANTD_ADMIN_TOKEN="$admin" \
    GRANTD_LOG=warn ${db_url:+GRANTD_DATABASE_URL=$db_url} "${valgrind[@]}" "$bin" serve >"$fifo" 2>>"$tmp/grantd.stderr" &
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
  # Defaults, each unless the extra fields give it.
  local fields="" f
  for f in '"platform_type":"server-only"' '"grants":["client_credentials"]' '"scopes":["api"]'; do
    case $2 in *"${f%%:*}"*) ;; *) fields+="$f," ;; esac
  done
  body="{\"name\":\"$1\",${fields%,}$2}"
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

# Fills $1 with N items from bench/client.py (two processes in parallel, each
# on its own keep-alive connection): authorization codes or access tokens.
mint_pool() { # file n mint-args...
  local file=$1 n=$2 half
  shift 2
  half=$(((n + 1) / 2))
  python3 "$here/client.py" "$1" "$GURL" "$half" "${@:2}" >"$file.a" &
  local a=$!
  python3 "$here/client.py" "$1" "$GURL" "$((n - half))" "${@:2}" >"$file.b" || die "minting the pool failed"
  wait "$a" || die "minting the pool failed"
  cat "$file.a" "$file.b" >"$file" && rm -f "$file.a" "$file.b"
}

# grantd alone with bench/pool.lua: each request takes an item of a pool.
# Prints "grantd rps p50_ms p99_ms errors -"; errors include every request
# beyond the pool's size (those were answered without a real item).
load_pool() { # pool-file method path auth body refill cycle
  local out items
  items=$(grep -c . "$1" || true)
  out=$(BENCH_POOL_FILE="$1" BENCH_METHOD="$2" BENCH_PATH="$3" BENCH_AUTH="$4" BENCH_BODY="$5" \
    BENCH_REFILL="$6" BENCH_CYCLE="$7" BENCH_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$here/pool.lua" "$GURL" 2>&1) ||
    die "wrk failed: $out"
  awk -v items="$items" -v consume="$([ -z "$6" ] && [ "$7" != 1 ] && echo 1 || echo 0)" '/^grantd-bench / {
         for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         over = (consume && v["requests"] > items) ? v["requests"] - items : 0
         if (over > 0) printf "bench: the pool of %d ran out: %d requests had no item\n", items, over > "/dev/stderr"
         printf "grantd %d %.2f %.2f %d -\n", v["rps"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["non2xx"] + v["socket_errors"] + over
       }' <<<"$out"
}
# One request before the load: it must succeed with the expected kind of
# answer. Sets last_token to the access token it got (token requests).
last_token=""
check_token() { # scenario basic body [path]
  local resp code json token path=${4:-/oauth/token}
  resp=$(curl -sS --max-time 10 -X POST "$GURL$path" -H "Authorization: Basic $2" \
    -H 'Content-Type: application/x-www-form-urlencoded' -d "$3" -w '\n%{http_code}')
  code=${resp##*$'\n'}
  json=${resp%$'\n'*}
  [ "$code" = 200 ] || die "$1: $path answered $code: $json"
  token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$json")
  case $1:$token in
    cc-jwt:eyJ*.*.*) ;;
    cc-opaque:eyJ*) die "$1: expected an opaque token, got a JWT" ;;
    cc-opaque:?*) ;;
    jwt-bearer:eyJ*.*.*) ;;
    introspect-*:) grep -q '"active":true' <<<"$json" || die "$1: the token is not active: $json" ;;
    *) die "$1: unexpected token response: $json" ;;
  esac
  last_token=$token
}

# grantd alone, with bench/token.lua; prints "grantd rps p50_ms p99_ms non2xx -".
load_alone() { # basic body [path]
  local out
  out=$(BENCH_PATH=${3:-/oauth/token} BENCH_BASIC="$1" BENCH_BODY="$2" \
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

# Scenarios: those loaded through the shared side-by-side script (one fixed
# request, repeated) and those whose requests each take an item of a pool.
through_compare() { case $1 in cc-jwt | cc-opaque | jwt-bearer | introspect-jwt | introspect-opaque) return 0 ;; esac; return 1; }
declare -A basic_of body_of path_of
redirect=http://127.0.0.1:9/callback
verifier=bench-verifier-0123456789-0123456789-0123456789
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
for scenario in $SCENARIOS; do
  body_of[$scenario]=$BENCH_BODY
  path_of[$scenario]=/oauth/token
  case $scenario in
    cc-jwt | introspect-jwt) extra="" ;;
    cc-opaque | introspect-opaque | revoke) extra=',"access_token_format":"opaque"' ;;
    jwt-bearer | refresh) extra=',"grants":["jwt_bearer","refresh_token"]' ;;
    userinfo) extra=',"grants":["jwt_bearer"],"scopes":["api","openid","profile","email"]' ;;
    code) extra=',"platform_type":"server-web","grants":["authorization_code","refresh_token"],"redirect_uris":["'$redirect'"]' ;;
    *) die "unknown scenario $scenario (cc-jwt, cc-opaque, jwt-bearer, refresh, introspect-jwt, introspect-opaque, code, userinfo, revoke)" ;;
  esac
  creds=$(register_app "bench-$scenario" "$extra")
  read -r cid secret <<<"$creds"
  basic_of[$scenario]=$(printf '%s:%s' "$cid" "$secret" | base64 -w0)
  case $scenario in
    jwt-bearer)
      body_of[$scenario]="grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$(new_credential login)" ;;
    introspect-jwt | introspect-opaque)
      check_token "${scenario/introspect/cc}" "${basic_of[$scenario]}" "$BENCH_BODY"
      path_of[$scenario]=/oauth/introspect
      body_of[$scenario]="token=$last_token" ;;
    userinfo)
      # One user token with openid, read again and again.
      check_token jwt-bearer "${basic_of[$scenario]}" \
        "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&scope=openid%20profile%20email&assertion=$(new_credential userinfo)"
      printf '%s\n' "$last_token" >"$tmp/userinfo-pool" ;;
    code)
      code_cid=$cid
      curl -sS --max-time 10 -X POST "$GURL/admin/v1/users" -H "Authorization: Bearer $admin" \
        -H 'Content-Type: application/json' -d '{"email":"signin@example.com","name":"Bench Sign-in","password":"bench password 0123456789"}' >/dev/null ;;
  esac
  case $scenario in refresh | code | revoke | userinfo) continue ;; esac # pools: checked by their loads
  check_token "$scenario" "${basic_of[$scenario]}" "${body_of[$scenario]}" "${path_of[$scenario]}"
done

# Fills the pool of a scenario that consumes items, before each round's load.
prepare_pool() { # scenario round
  local basic=${basic_of[$1]}
  case $1 in
    refresh)
      say "refresh: opening ${POOL:-256} sessions for round $2's pool"
      prepare_refresh_pool "$tmp/refresh-pool" "$basic" "$2" ;;
    code)
      # Codes live 60 s: minted just before the load, through the real pages.
      say "code: minting ${CODES:-20000} authorization codes through the sign-in and consent pages"
      mint_pool "$tmp/code-pool" "${CODES:-20000}" codes "$code_cid" "$redirect" "$challenge" \
        signin@example.com "bench password 0123456789" ;;
    revoke)
      say "revoke: issuing ${REVOKE_POOL:-120000} opaque access tokens to revoke"
      mint_pool "$tmp/revoke-pool" "${REVOKE_POOL:-120000}" tokens "$basic" "$BENCH_BODY" access_token ;;
  esac
}
# The load of a pool scenario; prints "grantd rps p50_ms p99_ms errors -".
run_pool() { # scenario
  local basic=${basic_of[$1]} enc
  enc=$(printf '%s' "$redirect" | sed 's/:/%3A/g; s#/#%2F#g')
  case $1 in
    refresh) load_pool "$tmp/refresh-pool" POST /oauth/token "Basic $basic" \
      "grant_type=refresh_token&refresh_token={}" '"refresh_token":"([^"]+)"' 0 ;;
    code) DURATION=$(duration_of code) load_pool "$tmp/code-pool" POST /oauth/token "Basic $basic" \
      "grant_type=authorization_code&code={}&redirect_uri=$enc&code_verifier=$verifier" "" 0 ;;
    revoke) DURATION=$(duration_of revoke) load_pool "$tmp/revoke-pool" POST /oauth/revoke "Basic $basic" "token={}" "" 0 ;;
    userinfo) load_pool "$tmp/userinfo-pool" GET /oauth/userinfo "Bearer {}" "" "" 1 ;;
  esac
}

# --- instruction counts (CALLGRIND=N) ------------------------------------------
# grantd runs under valgrind's callgrind with collection off; for each flow,
# collection is switched on for N requests sent one at a time by
# bench/client.py and the counters dumped: instructions per request, stable
# on a noisy machine. The HTTP ceiling is counted the same way.
ir_total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }
count_instructions() { # label pid pool-file method url path auth body → "label Ir/request"
  local label=$1 pid=$2 n=$CALLGRIND before dump
  shift 2
  python3 "$here/client.py" send "$3" 20 "$2" "$4" "$5" "$6" "$1" || die "$label: warm-up failed"
  # A pool of single-use items: the warm-up took the first 20.
  if [ "$(wc -l <"$1")" -gt 20 ]; then tail -n +21 "$1" >"$1.rest" && mv "$1.rest" "$1"; fi
  before=$(ls "$tmp"/callgrind.out.* 2>/dev/null | wc -l)
  callgrind_control -i on "$pid" >/dev/null && callgrind_control -z "$pid" >/dev/null
  python3 "$here/client.py" send "$3" "$n" "$2" "$4" "$5" "$6" "$1" || die "$label: requests failed"
  callgrind_control -d "$label" "$pid" >/dev/null && callgrind_control -i off "$pid" >/dev/null
  dump=$(ls -t "$tmp"/callgrind.out.* | head -n 1)
  [ "$(ls "$tmp"/callgrind.out.* | wc -l)" -gt "$before" ] || die "$label: callgrind wrote no dump"
  awk -v l="$label" -v t="$(ir_total "$dump")" -v n="$n" 'BEGIN { printf "%s %.0f\n", l, t / n }'
}
# SEED=N: stop grantd, grow its store by N sessions, N refresh tokens and
# SEED_APPS apps (bench/seed.py), and start it again on the same port.
seed_store() {
  local port=${GURL##*:} t0
  stop_grantd
  say "seeding the store: $SEED sessions, $SEED tokens, ${SEED_APPS:-10000} apps"
  t0=$(now_us)
  if [ -n "$db_url" ]; then
    python3 "$here/seed.py" postgres "$db_url" "$SEED" "$SEED" "${SEED_APPS:-10000}" || die "seeding failed"
  else
    python3 "$here/seed.py" sqlite "$tmp/data/grantd.db" "$SEED" "$SEED" "${SEED_APPS:-10000}" || die "seeding failed"
  fi
  say "seeded in $(awk -v a="$t0" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }') s"
  start_grantd "127.0.0.1:$port"
  ready_seeded_ms=$ready_ms
  [ "$GURL" = "http://127.0.0.1:$port" ] || die "grantd came back on $GURL, not port $port"
}

# Every flow's instructions per request; prints "scenario Ir" lines.
count_all() { # round (for the pools' names)
  local scenario basic enc c
  for scenario in $SCENARIOS; do
    basic=${basic_of[$scenario]}
    prepare_pool "$scenario" "$1" >&2
    enc=$(printf '%s' "$redirect" | sed 's/:/%3A/g; s#/#%2F#g')
    case $scenario in
      refresh) c=$(count_instructions "$scenario" "$gpid" "$tmp/refresh-pool" POST "$GURL" /oauth/token "Basic $basic" "grant_type=refresh_token&refresh_token={}") ;;
      code) c=$(count_instructions "$scenario" "$gpid" "$tmp/code-pool" POST "$GURL" /oauth/token "Basic $basic" "grant_type=authorization_code&code={}&redirect_uri=$enc&code_verifier=$verifier") ;;
      revoke) c=$(count_instructions "$scenario" "$gpid" "$tmp/revoke-pool" POST "$GURL" /oauth/revoke "Basic $basic" "token={}") ;;
      userinfo) c=$(count_instructions "$scenario" "$gpid" "$tmp/userinfo-pool" GET "$GURL" /oauth/userinfo "Bearer {}" "") ;;
      *) printf 'x\n' >"$tmp/one"
        c=$(count_instructions "$scenario" "$gpid" "$tmp/one" POST "$GURL" "${path_of[$scenario]}" "Basic $basic" "${body_of[$scenario]}") ;;
    esac
    say "$scenario ($1): ${c#* } instructions per request"
    printf '%s\n' "$c"
  done
}

if [ -n "${CALLGRIND:-}" ]; then
  mapfile -t counts < <(count_all 1)
  [ "${#counts[@]}" -gt 0 ] || die "no instruction counts"
  seeded=()
  if [ -n "${SEED:-}" ]; then
    seed_store
    mapfile -t seeded < <(count_all seeded-1)
  fi
  ceiling_ir=""
  if [ -f "$SHARED_BENCH/ceiling/Cargo.toml" ]; then
    work=${BENCH_WORK:-${TMPDIR:-/tmp}/grantd-bench}
    CARGO_TARGET_DIR="$work/ceiling-target" cargo build -q --release --manifest-path "$SHARED_BENCH/ceiling/Cargo.toml" ||
      die "building the ceiling failed"
    PORT=3902 MODE=sign valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/callgrind.out.ceiling" \
      "$work/ceiling-target/release/ceiling" 2>>"$tmp/ceiling.stderr" &
    cpid=$!
    for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/3902) 2>/dev/null && break; sleep 0.1; done
    printf 'x\n' >"$tmp/one"
    c=$(count_instructions ceiling "$cpid" "$tmp/one" POST http://127.0.0.1:3902 /token \
      "Basic $(printf 'bench:bench-secret-0123456789abcdef0123456789abcdef' | base64 -w0)" grant_type=client_credentials)
    kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null || true
    ceiling_ir=${c#* }
    say "ceiling: $ceiling_ir instructions per request"
  fi
  echo "## grantd instructions per request (callgrind) — $(date -u +%Y-%m-%d) — $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "$CALLGRIND requests per flow after 20 of warm-up, one at a time over one keep-alive connection;"
  echo "grantd's own instructions (user space, all threads), not the client's. Store: $([ -n "$db_url" ] && echo PostgreSQL || echo SQLite)."
  echo
  if [ -n "${SEED:-}" ]; then
    echo "| flow | instructions / request | × the HTTP ceiling's | with $SEED sessions and tokens stored | large / empty |"
    echo "|---|---|---|---|---|"
  else
    echo "| flow | instructions / request | × the HTTP ceiling's |"
    echo "|---|---|---|"
  fi
  for c in "${counts[@]}"; do
    read -r s ir <<<"$c"
    row="| $s | $ir | $(awk -v a="$ir" -v b="${ceiling_ir:-0}" 'BEGIN { print (b > 0 ? sprintf("%.2f", a / b) : "–") }') |"
    if [ -n "${SEED:-}" ]; then
      big=$(printf '%s\n' "${seeded[@]}" | awk -v s="$s" '$1 == s { print $2 }')
      row+=" ${big:-–} | $(awk -v a="${big:-0}" -v b="$ir" 'BEGIN { print (a > 0 && b > 0 ? sprintf("%.2f", a / b) : "–") }') |"
    fi
    echo "$row"
  done
  [ -z "$ceiling_ir" ] || echo "| (HTTP ceiling: axum + ES256, client_credentials) | $ceiling_ir | 1.00 |"
  exit 0
fi

rows=()          # "scenario round target rps p50 p99 non2xx ratio"
runs=()          # "scenario round idle% cpu-µs-per-request"
hwm_after=()     # "scenario kB"
status=0
hz=$(getconf CLK_TCK)
# Every scenario, ROUNDS times (interleaved). Rounds are named 1, 2, … on the
# store as the bench made it, and seeded-1, … after SEED grew it.
run_rounds() { # round-prefix
  local n round
  for ((n = 1; n <= ROUNDS; n++)); do
  round=$1$n
  for scenario in $SCENARIOS; do
    basic=${basic_of[$scenario]}
    prepare_pool "$scenario" "$round"
    idle=$(wait_quiet)
    c0=$(cpu_ticks)
    if ! through_compare "$scenario"; then
      say "$scenario (round $round/$ROUNDS): grantd alone with bench/pool.lua ($(duration_of "$scenario"), $CONNS connections; machine ${idle}% idle)"
      r=$(run_pool "$scenario")
      [ -n "$r" ] || die "$scenario: no result from wrk"
      # The peers have no such request in the shared script; the ratio is to
      # the HTTP ceiling measured for cc-jwt in this round, when it was.
      ceiling=$(printf '%s\n' "${rows[@]}" | awk -v n="$round" '$1 == "cc-jwt" && $2 == n && $3 == "ceiling" { print $4 }')
      r=$(awk -v c="${ceiling:-0}" '{ $6 = (c > 0 ? sprintf("%.2f", $2 / c) : "-"); print }' <<<"$r")
      rows+=("$scenario $round $r")
      [ "$(awk '{print $5}' <<<"$r")" = 0 ] || status=1
    elif [ "$use_shared" = 1 ]; then
      say "$scenario (round $round/$ROUNDS): $SHARED_BENCH/compare.sh (PEERS=${PEERS-default}, $DURATION each, $CONNS connections; machine ${idle}% idle)"
      rc=0
      out=$(GRANTD_URL=$GURL GRANTD_BASIC=$basic GRANTD_PATH=${path_of[$scenario]} GRANTD_BODY=${body_of[$scenario]} \
        DURATION=$DURATION CONNS=$CONNS THREADS=$THREADS "$SHARED_BENCH/compare.sh") || rc=$?
      [ "$rc" = 0 ] || { say "$scenario: compare.sh exited $rc"; status=1; }
      got=$(awk -F'|' -v s="$scenario" -v n="$round" 'NF >= 8 && $2 !~ /target|---/ {
          for (i = 2; i <= 7; i++) gsub(/^ +| +$/, "", $i)
          print s, n, $2, $3, $4, $5, $6, $7 }' <<<"$out")
      grep -q "^$scenario $round grantd " <<<"$got" || die "$scenario: no result from compare.sh: $out"
      while read -r r; do rows+=("$r"); done <<<"$got"
    else
      say "$scenario (round $round/$ROUNDS): grantd alone with bench/token.lua ($DURATION, $CONNS connections; machine ${idle}% idle)"
      r=$(load_alone "$basic" "${body_of[$scenario]}" "${path_of[$scenario]}")
      [ -n "$r" ] || die "$scenario: no result from wrk"
      rows+=("$scenario $round $r")
      [ "$(awk '{print $5}' <<<"$r")" = 0 ] || status=1
    fi
    c1=$(cpu_ticks)
    # grantd is idle while compare.sh loads the peers, so its CPU time is the load's.
    g_rps=$(printf '%s\n' "${rows[@]}" | awk -v s="$scenario" -v n="$round" '$1 == s && $2 == n && $3 == "grantd" { print $4 }')
    d=$(seconds_of "$(duration_of "$scenario")")
    cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v r="$g_rps" -v d="$d" 'BEGIN { printf "%.0f", (r > 0 ? t / hz * 1e6 / (r * d) : 0) }')
    runs+=("$scenario $round $idle $cpu")
  done
  hwm_after+=("round-$round $(proc_kb VmHWM)")
  done
}
run_rounds ""

# SEED=N: stop grantd, grow its store by N sessions, N refresh tokens and
# SEED_APPS apps (bench/seed.py), start it again on the same port, and run
# every round again on the large store.
if [ -n "${SEED:-}" ]; then
  seed_store
  run_rounds seeded-
fi
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
echo "The peers always run client_credentials; every other flow is compared with that same ceiling (through compare.sh, its ceiling row; the pool scenarios, this round's cc-jwt ceiling)."
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
[ -z "${SEED:-}" ] || echo "| ready, restart after seeding $SEED sessions and tokens | $ready_seeded_ms ms |"
echo "| RSS idle after start | $(mb "$rss_idle_kb") MB |"
for h in "${hwm_after[@]}"; do
  read -r s k <<<"$h"
  echo "| peak RSS (VmHWM) after $s | $(mb "$k") MB |"
done
echo "| RSS at end | $(mb "$rss_end_kb") MB |"

# Quality bars (product spec): the median over rounds, for every scenario.
field() { # scenario target column(4=rps 6=p99 8=ratio) [seeded] → median over rounds
  printf '%s\n' "${rows[@]}" | awk -v s="$1" -v t="$2" -v c="$3" -v seeded="${4:-}" \
    '$1 == s && $3 == t && $c != "-" && (seeded == "" ? $2 ~ /^[0-9]+$/ : $2 ~ /^seeded-/) { print $c }' | median
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
    *)
      # grantd / the HTTP ceiling: from compare.sh's ceiling row, or for the
      # pool scenarios from grantd's own row (this round's cc-jwt ceiling).
      if through_compare "$scenario"; then c=$(field "$scenario" ceiling 8); else c=$(field "$scenario" grantd 8); fi
      # The targets (docs/performance.md): reads near the ceiling, writes durable.
      case $scenario in
        cc-jwt) want=0.90 ;; introspect-jwt) want=0.80 ;; cc-opaque) want=0.60 ;;
        jwt-bearer | refresh) want=0.40 ;; code) want=0.30 ;; *) want="" ;;
      esac
      if [ -n "$want" ]; then
        bar "$scenario: grantd / ceiling" "${c:-–}" "$(meets "$c" "$want" '>=')" "≥ $want"
      else
        bar "$scenario: grantd / ceiling" "${c:-–}" "" "(reported)"
      fi
      if [ "$scenario" = cc-jwt ]; then
        o=$(field "$scenario" oidc-provider 8)
        bar "$scenario: grantd / oidc-provider" "${o:-–}" "$(meets "$o" 6 '>=')" "≥ 6"
      fi ;;
  esac
  if [ "$CONNS" = 32 ]; then
    bar "$scenario: p99 at 32 connections" "$p ms" "$(meets "$p" 10 '<')" "< 10 ms"
  fi
done
if [ -n "${SEED:-}" ]; then
  for scenario in $SCENARIOS; do
    e=$(field "$scenario" grantd 4); l=$(field "$scenario" grantd 4 seeded)
    r=$(awk -v a="$l" -v b="$e" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a / b }')
    bar "$scenario: req/s with $SEED sessions and tokens stored / empty store" "${r:-–}" "$(meets "$r" 0.80 '>=')" "≥ 0.80"
  done
fi
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
