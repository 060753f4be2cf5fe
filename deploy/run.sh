#!/usr/bin/env bash
# A deployment on loopback, as production runs it: two authql instances
# behind HAProxy (deploy/haproxy.cfg), on PostgreSQL through PgBouncer
# (deploy/pgbouncer.ini) with TLS from PgBouncer to PostgreSQL, the §8.6
# listener straight to PostgreSQL over TLS (DATABASE_LISTEN_URL). Then it
# drives clients/deploy-check.mjs through HAProxy: the live WebSocket
# journey (revocation on whichever instance) and a rolling restart under
# load (SIGTERM one instance, start it again, then the other), which must
# fail no request.
#
# Usage: deploy/run.sh path/to/authql
# Needs haproxy and pgbouncer (Debian packages), PostgreSQL on 127.0.0.1:5432
# (user postgres, trust, SSL on), node and clients/node_modules (clients/run.sh
# installs them).
set -euo pipefail
[ $# -eq 1 ] && [ -x "$1" ] || { echo "usage: $0 path/to/authql" >&2; exit 2; }
BIN=$(realpath "$1")
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/authql-deploy.XXXXXX)
chmod 755 "$WORK"
ok() { node -e "fetch('$1').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; }
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
export HAPROXY_PORT=$(free_port) AUTHQL_A_PORT=$(free_port) AUTHQL_B_PORT=$(free_port)
PGB_PORT=$(free_port)
DB="authql_deploy_$$"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}" $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB" >/dev/null

# PgBouncer: transaction pooling (DATABASE_POOLER=transaction), TLS to
# PostgreSQL.
sed -e "s/@PORT@/$PGB_PORT/" -e "s#@DIR@#$WORK#" deploy/pgbouncer.ini > "$WORK/pgbouncer.ini"
echo '"postgres" ""' > "$WORK/users.txt"
chmod 644 "$WORK/pgbouncer.ini" "$WORK/users.txt"
as_postgres=()
[ "$(id -u)" -eq 0 ] && as_postgres=(-u postgres)
pgbouncer "${as_postgres[@]}" "$WORK/pgbouncer.ini" > "$WORK/pgbouncer.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p "$PGB_PORT" && break; sleep 0.1; done

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGB_PORT/$DB?sslmode=disable"
export DATABASE_POOLER=transaction
export DATABASE_LISTEN_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=require"
export SECRET_KEY="deploy-secret-key-that-is-long-enough-0123456789"
export EMAIL_URL="file://$WORK/mail" TRUSTED_PROXIES="127.0.0.1/32" RUST_LOG=warn
export PUBLIC_URL="http://127.0.0.1:$HAPROXY_PORT"
mkdir -p "$WORK/mail"
"$BIN" migrate > "$WORK/migrate.log" 2>&1

start() { # name port
  BIND_ADDR="127.0.0.1:$2" "$BIN" serve >> "$WORK/$1.log" 2>&1 &
  echo $! > "$WORK/$1.pid"
  for _ in $(seq 1 100); do
    ok "http://127.0.0.1:$2/readyz" && return 0
    sleep 0.1
  done
  echo "instance $1 did not become ready" >&2
  return 1
}
# SIGTERM, wait for exit 0, start again, wait until HAProxy can have seen it up.
restart() { # name port
  local pid
  pid=$(cat "$WORK/$1.pid")
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { echo "instance $1 exited $rc on SIGTERM" >&2; return 1; }
  start "$1" "$2"
  sleep 1
}
start a "$AUTHQL_A_PORT"
start b "$AUTHQL_B_PORT"
haproxy -f deploy/haproxy.cfg -db > "$WORK/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do ok "http://127.0.0.1:$HAPROXY_PORT/healthz" && break; sleep 0.1; done
sleep 1 # both instances checked up

export AUTHQL_URL="http://127.0.0.1:$HAPROXY_PORT" AUTHQL_MAIL_DIR="$WORK/mail"
ROLLED_FLAG="$WORK/rolled" node clients/deploy-check.mjs > "$WORK/check.out" 2> "$WORK/check.log" &
check=$!
# The rolling restart, while the check's load runs.
sleep 3
restart a "$AUTHQL_A_PORT"
restart b "$AUTHQL_B_PORT"
touch "$WORK/rolled"
rc=0
wait "$check" || rc=$?
cat "$WORK/check.out"
exit "$rc"
