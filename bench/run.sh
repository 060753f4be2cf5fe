#!/usr/bin/env bash
# bench/run.sh [sqlite|postgres]: load-test the release binary.
#
# Builds authql (release) and the yardstick in ../shared/bench-floor, starts
# authql on a fresh database seeded straight through the services (a bench
# user and 1,000 products), starts the floor (the same poem + async-graphql +
# JWT stack with no database), and drives both with wrk, one after the other
# and with the same settings. Every response is checked (HTTP 200, `data`
# present, no `errors`). Prints, per scenario, requests/s, p50/p99 latency,
# errors, the server's peak RSS (VmHWM, reset before each scenario) and CPU
# time per request, and authql ÷ floor. On postgres the floor also runs
# against PostgreSQL (FLOOR_DATABASE_URL: the statements each scenario
# needs, prepared, through tokio-postgres) and a second table gives authql ÷
# PG floor. The tables are also written to bench/results/.
#
# Environment: DURATION (default 10s per scenario), PORT_BASE (default 18080),
# SCENARIOS (default "S0 S1 S2 S3 S4 S5 S6 S7"; a subset for quick runs),
# JWT_ALGORITHM (default HS256; EdDSA, ES256 or RS256 sign authql's access
# tokens with a key generated for the run), SSLMODE (postgres: the URL's
# sslmode; unset, TLS when the server offers it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
backend=$(backend_of run.sh "${1:-}")
root=$(pwd)
DURATION=${DURATION:-10s}
PORT_BASE=${PORT_BASE:-18080}
authql_port=$PORT_BASE
floor_port=$((PORT_BASE + 10))
pgfloor_port=$((PORT_BASE + 11))
work=$(mktemp -d)
mkdir -p bench/results
results="bench/results/$(date -u +%Y%m%d-%H%M%S)-$backend.md"
pids=()
pg_db=""
pgfloor_db=""

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "$pg_db" "$pgfloor_db"; do
    [ -n "$db" ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
ulimit -n 65536 2>/dev/null || ulimit -n 4096 || true

log "building authql and the floor (release)"
cargo build --release --quiet --bin authql --example bench_seed
CARGO_TARGET_DIR="$root/target/bench-floor" cargo build --release --quiet \
  --manifest-path "$root/../shared/bench-floor/Cargo.toml"
floor_bin="$root/target/bench-floor/release/floor"
probe_bin="$root/target/bench-floor/release/argon2-probe"

# --- database ----------------------------------------------------------------
fresh_database "$backend" bench
export SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789"
export BIND_ADDR="127.0.0.1:$authql_port"
export EMAIL_URL="file://$work/mail"
export RUST_LOG=warn
export ACCESS_TOKEN_TTL=1h
# Successful logins are not counted; generous limits keep S7's answers about hashing.
export LOGIN_RATE_LIMIT="1000000/15m"
export REGISTER_RATE_LIMIT="1000000/1h"
# JWT_ALGORITHM=EdDSA|ES256|RS256 measures asymmetric access tokens: a key is
# generated for the run (the floor keeps HS256, the stack's cheapest).
if [ -n "${JWT_ALGORITHM:-}" ] && [ "$JWT_ALGORITHM" != HS256 ] && [ -z "${JWT_PRIVATE_KEY_FILE:-}" ]; then
  "$root/target/release/authql" keys generate --algorithm "$JWT_ALGORITHM" "$work/jwt.pem"
  export JWT_PRIVATE_KEY_FILE="$work/jwt.pem"
fi

log "seeding the bench user and 1,000 products"
"$root/target/release/examples/bench_seed" 1000 >&2

"$root/target/release/authql" serve >"$work/authql.log" 2>&1 &
authql_pid=$!
pids+=("$authql_pid")
"$floor_bin" "127.0.0.1:$floor_port" >"$work/floor.log" 2>&1 &
floor_pid=$!
pids+=("$floor_pid")
# On PostgreSQL, the floor again with FLOOR_DATABASE_URL: only the
# statements each scenario needs, through tokio-postgres (its README), so
# authql ÷ PG floor says how much of the gap is authql's own.
ports=("$authql_port" "$floor_port")
if [ "$backend" = postgres ]; then
  pgfloor_db="authql_pgfloor_$$"
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pgfloor_db" >/dev/null
  FLOOR_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pgfloor_db" \
    "$floor_bin" "127.0.0.1:$pgfloor_port" >"$work/pgfloor.log" 2>&1 &
  pgfloor_pid=$!
  pids+=("$pgfloor_pid")
  ports+=("$pgfloor_port")
fi
for port in "${ports[@]}"; do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done

# The hash limit is measured right before authql's S4 (after the floor's;
# here when S4 is not run), so that it and the logins it is compared with
# see the same machine: on a shared host the speed of one hash drifts by a
# fifth within minutes. The floor's S4 is shown against the same limit.
hash_limit="" hash_ms=""
probe() {
  log "measuring one argon2 hash (argon2-probe)"
  local json
  json=$("$probe_bin" | grep '"probe":"owasp')
  hash_limit=$(echo "$json" | sed -E 's/.*"max_logins_per_s":([0-9.]+).*/\1/')
  hash_ms=$(echo "$json" | sed -E 's/.*"median_ms":([0-9.]+).*/\1/')
}

# --- bodies ------------------------------------------------------------------
body() { printf '%s' "$2" >"$work/$1.json"; }
body S0 '{"query":"{ __typename }"}'
body S1 '{"query":"{ me { id email } }"}'
body S2 '{"query":"{ products(first: 20) { edges { node { id name priceCents owner { id } } } pageInfo { endCursor hasNextPage } } }"}'
body S3 '{"query":"{ productsPage(page: 3, pageSize: 20) { items { id name } totalCount } }"}'
body S4 '{"query":"mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload { accessToken } } }","variables":{"i":{"email":"bench@example.com","password":"correct horse battery staple"}}}'
body S5 '{"query":"mutation { createProduct(input: {name: \"Bench product\", priceCents: 1999}) { id } }"}'

token_for() {
  curl -fsS "http://127.0.0.1:$1/graphql" -H 'content-type: application/json' --data @"$work/S4.json" |
    sed -E 's/.*"accessToken":"([^"]+)".*/\1/'
}
authql_token=$(token_for "$authql_port")
floor_token=$(token_for "$floor_port")
[ "$backend" = postgres ] && pgfloor_token=$(token_for "$pgfloor_port")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run NAME PORT PID CONNS BODY AUTH [wrk args…] → prints "RESULT … rss_mib=… cpu_us=…"
run() {
  local name=$1 port=$2 pid=$3 conns=$4 bodyname=$5 auth=$6
  shift 6
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
  local before after line requests
  before=$(cpu_ticks "$pid")
  line=$(BODY_FILE="$work/$bodyname.json" AUTH="$auth" wrk -t2 -c"$conns" -d"$DURATION" --timeout 30s \
    -s "$root/bench/gql.lua" "$@" "http://127.0.0.1:$port/graphql" | grep '^RESULT')
  after=$(cpu_ticks "$pid")
  requests=$(echo "$line" | sed -E 's/.*requests=([0-9]+).*/\1/')
  local hwm cpu_us
  hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$pid/status")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "n/a" }')
  echo "$line rss_mib=$hwm cpu_us=$cpu_us name=$name"
}

field() { echo "$1" | sed -E "s/.* $2=([^ ]+).*/\1/"; }

declare -A A F P
wanted=" ${SCENARIOS:-S0 S1 S2 S3 S4 S5 S6 S7} "
scenarios=()
for s in S0 S1 S2 S3 S4 S5; do [[ $wanted == *" $s "* ]] && scenarios+=("$s"); done
conns_of() { [ "$1" = S4 ] && echo 8 || echo 32; }
auth_of() { case "$1" in S1 | S5) echo "Bearer $2" ;; *) echo "" ;; esac; }

for s in "${scenarios[@]}"; do
  c=$(conns_of "$s")
  log "$s on the floor"
  F[$s]=$(run "$s" "$floor_port" "$floor_pid" "$c" "$s" "$(auth_of "$s" "$floor_token")")
  if [ "$backend" = postgres ]; then
    log "$s on the PostgreSQL floor"
    P[$s]=$(run "$s" "$pgfloor_port" "$pgfloor_pid" "$c" "$s" "$(auth_of "$s" "$pgfloor_token")")
  fi
  [ "$s" = S4 ] && probe
  log "$s on authql"
  A[$s]=$(run "$s" "$authql_port" "$authql_pid" "$c" "$s" "$(auth_of "$s" "$authql_token")")
done

S6="" S6_logins="" S7=""
if [[ $wanted == *" S6 "* ]]; then
  log "S6: S1 while S4 saturates the hashing pool"
  BODY_FILE="$work/S4.json" AUTH="" wrk -t1 -c8 -d"$DURATION" --timeout 30s -s "$root/bench/gql.lua" \
    "http://127.0.0.1:$authql_port/graphql" >"$work/s6-logins.txt" &
  sleep 1
  S6=$(run S6 "$authql_port" "$authql_pid" 32 S1 "Bearer $authql_token")
  wait $! || true
  S6_logins=$(grep '^RESULT' "$work/s6-logins.txt" || true)
fi
if [[ $wanted == *" S7 "* ]]; then
  log "S7: 1,000 concurrent logins"
  S7=$(run S7 "$authql_port" "$authql_pid" 1000 S4 "")
fi

# --- report ------------------------------------------------------------------
[ -n "$hash_limit" ] || probe
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "### $backend — $(date -u +%Y-%m-%d) — commit $commit"
  echo
  echo "wrk, 2 threads, $DURATION per scenario, 32 connections (S4: 8); load generator on the same 2-core machine."
  echo "Hash limit (argon2-probe, OWASP m=19456 t=2 p=1, measured just before authql's S4): ${hash_ms} ms/hash → **${hash_limit} logins/s**."
  echo
  echo "| scenario | authql req/s | floor req/s | authql ÷ floor | p50 / p99 ms | errors | peak RSS MiB | CPU µs/req |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for s in "${scenarios[@]}"; do
    a=${A[$s]} f=${F[$s]}
    ar=$(field "$a" rps) fr=$(field "$f" rps)
    ratio=$(awk -v a="$ar" -v f="$fr" 'BEGIN { if (f > 0) printf "%.2f", a / f; else print "n/a" }')
    [ "$s" = S4 ] && ratio="$ratio (÷ hash limit: $(awk -v a="$ar" -v h="$hash_limit" 'BEGIN { printf "%.2f", a / h }'); floor's: $(awk -v f="$fr" -v h="$hash_limit" 'BEGIN { printf "%.2f", f / h }'))"
    echo "| $s | $ar | $fr | $ratio | $(field "$a" p50_ms) / $(field "$a" p99_ms) | $(field "$a" errors) | $(field "$a" rss_mib) | $(field "$a" cpu_us) |"
  done
  [ -n "$S6" ] && echo "| S6 (S1 during S4) | $(field "$S6" rps) | | | $(field "$S6" p50_ms) / **$(field "$S6" p99_ms)** | $(field "$S6" errors) | $(field "$S6" rss_mib) | |"
  [ -n "$S7" ] && echo "| S7 (1,000 logins at once) | $(field "$S7" rps) | | | $(field "$S7" p50_ms) / $(field "$S7" p99_ms) | | **$(field "$S7" rss_mib)** | |"
  echo
  [ -n "$S6" ] && echo "S6 logins alongside: $(field "$S6_logins" rps) req/s, $(field "$S6_logins" errors) errors ($(field "$S6_logins" login_ok) signed in, $(field "$S6_logins" rate_limited) RATE_LIMITED, $(field "$S6_logins" unavailable) SERVICE_UNAVAILABLE, $(field "$S6_logins" other) other, $(field "$S6_logins" socket_errors) socket errors)."
  [ -n "$S7" ] && echo "S7 outcomes: $(field "$S7" login_ok) signed in, $(field "$S7" rate_limited) RATE_LIMITED, $(field "$S7" unavailable) SERVICE_UNAVAILABLE, $(field "$S7" other) other, $(field "$S7" socket_errors) socket errors."
  [ -n "${F[S4]:-}" ] && echo "Floor peak RSS during S4: $(field "${F[S4]}" rss_mib) MiB."
  if [ "$backend" = postgres ]; then
    echo
    echo "| scenario | PG floor req/s | PG floor ÷ floor | authql ÷ PG floor | PG floor CPU µs/req |"
    echo "|---|---:|---:|---:|---:|"
    for s in "${scenarios[@]}"; do
      pr=$(field "${P[$s]}" rps) fr=$(field "${F[$s]}" rps) ar=$(field "${A[$s]}" rps)
      echo "| $s | $pr | $(awk -v p="$pr" -v f="$fr" 'BEGIN { if (f > 0) printf "%.2f", p / f; else print "n/a" }') | **$(awk -v a="$ar" -v p="$pr" 'BEGIN { if (p > 0) printf "%.2f", a / p; else print "n/a" }')** | $(field "${P[$s]}" cpu_us) |"
    done
  fi
  true
} | tee "$results"
log "written to $results"
