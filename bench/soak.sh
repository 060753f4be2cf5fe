#!/usr/bin/env bash
# bench/soak.sh [sqlite|postgres] [N]: N idle WebSocket subscriptions
# (default 1,000, one user, MAX_SUBSCRIPTIONS_PER_USER raised for it).
# Prints authql's RSS before and with the sockets open, its CPU while they
# sit idle for IDLE seconds (default 30: the 1 s safety-net tick of every
# socket is what it costs), and, after one logout revokes the session they
# share, how many were closed with 4401 and when the last one was.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
backend=$(backend_of soak.sh "${1:-}")
n=${2:-1000}
IDLE=${IDLE:-30}
root=$(pwd)
work=$(mktemp -d)
port=${PORT:-18180}
pg_db=""
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$pg_db" ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 8192 || true

cargo build --release --quiet --bin authql --example bench_seed
(cd clients && { cmp -s package-lock.json node_modules/.authql-lock 2>/dev/null || npm ci --no-audit --no-fund --loglevel=error; })
fresh_database "$backend" soak
export SECRET_KEY="soak-secret-key-that-is-long-enough-0123456789" BIND_ADDR="127.0.0.1:$port"
export EMAIL_URL="file://$work/mail" RUST_LOG=warn ACCESS_TOKEN_TTL=1h MAX_SUBSCRIPTIONS_PER_USER=$((n + 10))
"$root/target/release/examples/bench_seed" 10 >/dev/null
"$root/target/release/authql" serve >"$work/authql.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
token=$(curl -fsS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(input: {email: \"bench@example.com\", password: \"correct horse battery staple\"}) { ... on AuthPayload { accessToken } } }"}' |
  sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(rss)
coproc SOAK { node bench/soak.mjs "ws://127.0.0.1:$port/graphql" "$token" "$n"; }
read -r _ opened open_ms <&"${SOAK[0]}"
with=$(rss)
c0=$(cpu)
sleep "$IDLE"
c1=$(cpu)
idle_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v t="$IDLE" 'BEGIN { printf "%.1f", (b - a) / hz / t * 100 }')
curl -fsS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"query":"mutation { logout }"}' >/dev/null
echo close >&"${SOAK[1]}"
read -r _ closed _ unauthorized _ last_ms <&"${SOAK[0]}"
echo "| $backend | $opened sockets (opened in ${open_ms} ms) | RSS ${before} → ${with} MiB | idle CPU ${idle_cpu} % of a core | $unauthorized of $closed closed 4401, the last ${last_ms} ms after logout |"
