#!/usr/bin/env bash
# bench/scale.sh [sqlite|postgres]: product search latency at 1,000,000 rows.
#
# Seeds the bench user and 1,000 products through the services, copies them
# in SQL to PRODUCTS × COPIES rows (default 1,000 × 1,000; names gain " v1"…
# " v999"), starts the release binary and asks one search at a time (wrk, one
# connection) for each term below, the first page of `products` in the
# default order, for DURATION each. Prints the matches, requests/s and the
# p50 / p99 latency per term; the table is also written to bench/results/.
#
# Environment: DURATION (default 5s per term), PORT (default 18180),
# PRODUCTS, COPIES.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
backend=$(backend_of scale.sh "${1:-}")
root=$(pwd)
DURATION=${DURATION:-5s}
PORT=${PORT:-18180}
PRODUCTS=${PRODUCTS:-1000}
COPIES=${COPIES:-1000}
work=$(mktemp -d)
mkdir -p bench/results
results="bench/results/$(date -u +%Y%m%d-%H%M%S)-scale-$backend.md"
pid="" pg_db=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$pg_db" ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '== %s\n' "$*" >&2; }

command -v wrk >/dev/null 2>&1 || {
  log "installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
log "building authql (release)"
cargo build --release --quiet --bin authql --example bench_seed

fresh_database "$backend" scale
export SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789"
export BIND_ADDR="127.0.0.1:$PORT" EMAIL_URL="file://$work/mail" RUST_LOG=warn
# Measure the search, not the deadline: the broadest terms may take longer.
export QUERY_TIMEOUT=60s

rows=$((PRODUCTS * COPIES))
log "seeding $rows products"
began=$(date +%s)
"$root/target/release/examples/bench_seed" "$PRODUCTS" "$COPIES" >&2
seeded=$(($(date +%s) - began))

"$root/target/release/authql" serve >"$work/authql.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# term | what it matches (of 1,000 × 1,000)
terms=(
  "product 0421 v777|1 row"
  "0421 v|999 rows"
  "v777|1,000 rows"
  "product 04|100,000 rows (10 %)"
  "benchmark|every row (the description)"
  "v7|2 characters: no trigram, a scan"
)
{
  echo "## Product search at $rows rows — $backend — $(date -u +%Y-%m-%d)"
  echo
  echo "\`bench/scale.sh $backend\`: the first page of \`products(first: 20, filter: {search})\`, one request at a time, $DURATION per term; seeding took ${seeded} s."
  echo
  echo "| term | matches | req/s | p50 / p99 ms | errors |"
  echo "|---|---|---|---|---|"
  for entry in "${terms[@]}"; do
    term=${entry%%|*} what=${entry#*|}
    printf '{"query":"query($s: String) { products(first: 20, filter: {search: $s}) { nodes { id name } pageInfo { hasNextPage } } }","variables":{"s":"%s"}}' "$term" >"$work/body.json"
    log "searching \"$term\""
    line=$(BODY_FILE="$work/body.json" AUTH="" wrk -t1 -c1 -d"$DURATION" --timeout 60s \
      -s "$root/bench/gql.lua" "http://127.0.0.1:$PORT/graphql" | grep '^RESULT')
    field() { echo "$line" | sed -E "s/.* $1=([^ ]+).*/\1/"; }
    echo "| \`$term\` | $what | $(field rps) | $(field p50_ms) / $(field p99_ms) | $(field errors) |"
  done
} | tee "$results"
log "written to $results"
