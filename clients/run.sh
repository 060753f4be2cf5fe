#!/usr/bin/env bash
# Real clients against a live authql (issue 9): starts the given binary on a
# free loopback port with a fresh SQLite database and file mail in a temp dir,
# then runs, in order:
#   audit     graphql-http's server audits (every MUST and SHOULD must pass)
#   apollo    Apollo Client 4: the user journey, 401 -> refresh, BatchHttpLink
#   codegen   graphql-codegen over ../schema.graphql + operations.graphql, tsc
#   graphiql  the self-hosted playground in Debian's Chromium (playwright-core)
#   passkeys  register, sign in with and delete a passkey in Chromium with a
#             CDP virtual authenticator
#   webhooks  the Apollo journey again, with a Node receiver verifying every
#             webhook delivery with npm standardwebhooks
#   magic     email sign-in in Chromium: the mailed link's confirmation page,
#             its POST, the exchange code with the app's PKCE verifier
#   social    social sign-in (API.md §9.1) in Chromium against a real OpenID
#             provider on loopback (npm oidc-provider, oidc-op.mjs, trusted):
#             the app's "Sign in with Test ID", the provider's login and
#             consent pages, the callback, the exchange code with the app's
#             PKCE verifier; the same subject again is the same account
#   oidc      authql as an OpenID provider for npm openid-client (a confidential
#             client made with the CLI): Chromium on the sign-in and consent
#             pages, code + PKCE, ID token, userinfo, refresh rotation and
#             reuse, revocation, introspection, RP-initiated logout
#   apache    authql as the provider of Apache's mod_auth_openidc (a C RP,
#             Debian's libapache2-mod-auth-openidc) protecting a static page:
#             Chromium through the sign-in and consent pages to it, the
#             email claim in Apache, RP-initiated logout (apache-rp.sh: its
#             own authql with RS256 keys and its own Apache)
#   schema    live introspection == schema.graphql (graphql-js, both directions)
#   jose      jose verifies an access token from the discovered JWKS (EdDSA)
#   metrics   promtool check metrics on METRICS_ADDR's /metrics
#   fuzz      schemathesis against /graphql: no 5xx, no INTERNAL_SERVER_ERROR
# Each step prints one line; the script exits non-zero if any step failed.
#
# Usage: clients/run.sh path/to/authql [step ...]   (default: every step)
# Needs node >= 20, python3 (venv), /usr/bin/chromium, apache2 and
# libapache2-mod-auth-openidc (the apache step); npm and PyPI packages
# come from the committed package-lock.json and requirements.txt.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/authql [step ...]" >&2
  exit 2
fi
BIN=$(realpath "$1")
shift
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(audit apollo webhooks codegen graphiql passkeys magic social oidc apache schema jose metrics fuzz)
cd "$(dirname "$0")"
CLIENTS=$(pwd)
started=$(date +%s)

# --- dependencies: only the registries' ordinary clients, from lockfiles ---
# `npm ci` wipes node_modules; skip it when the installed tree came from this
# very lockfile (a local re-run), never in CI's fresh clone.
if ! cmp -s package-lock.json node_modules/.authql-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.authql-lock
fi
if ! cmp -s requirements.txt .venv/.authql-requirements 2>/dev/null; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
  cp requirements.txt .venv/.authql-requirements
fi
mkdir -p output

# --- the server ---
WORK=$(mktemp -d /tmp/authql-clients.XXXXXX)
SERVER_PID=""
OP_PID=""
cleanup() {
  local rc=$?
  if [ -n "$OP_PID" ]; then kill "$OP_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -s "$WORK/server.log" ]; then
    echo "--- last lines of the server log ($WORK/server.log) ---" >&2
    tail -n 40 "$WORK/server.log" >&2 || true
    if [ -s "$WORK/op.log" ]; then
      echo "--- last lines of the OpenID provider's log ($WORK/op.log) ---" >&2
      tail -n 20 "$WORK/op.log" >&2 || true
    fi
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BASE="http://127.0.0.1:$PORT"
METRICS_PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# The passkeys step's page: http://localhost:$PAGE_PORT, served by the
# browser's own request interception (an IP cannot be a WebAuthn RP id).
PAGE_PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$WORK/mail"

# The social step's OpenID provider (npm oidc-provider on loopback, its
# login and consent as pages), started first: authql is configured with its
# issuer, and it knows authql's callback as its client's redirect URI.
OP_PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
OP_URL="http://127.0.0.1:$OP_PORT"
OP_PORT="$OP_PORT" OP_LOGIN_FORM=1 \
  OP_CLIENTS="[{\"client_id\":\"authql\",\"client_secret\":\"s3cret\",\"redirect_uris\":[\"$BASE/auth/test/callback\"]}]" \
  node "$CLIENTS/oidc-op.mjs" >"$WORK/op.log" 2>&1 &
OP_PID=$!
op_ready() { node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$OP_URL/.well-known/openid-configuration"; }
for _ in $(seq 1 100); do
  if op_ready; then break; fi
  if ! kill -0 "$OP_PID" 2>/dev/null; then
    echo "the OpenID provider (oidc-op.mjs) exited at start" >&2
    cat "$WORK/op.log" >&2
    exit 1
  fi
  sleep 0.2
done
op_ready || { echo "the OpenID provider (oidc-op.mjs) did not get ready" >&2; exit 1; }
# Access tokens signed with an EdDSA key, so that every client works with
# asymmetric tokens and jose can verify them from the published JWKS.
"$BIN" keys generate --algorithm EdDSA "$WORK/jwt.pem"
# The server runs in $WORK so no .env of the checkout is read.
(
  cd "$WORK"
  exec env \
    APP_ENV=development \
    BIND_ADDR="127.0.0.1:$PORT" \
    PUBLIC_URL="$BASE" \
    DATABASE_URL="sqlite://$WORK/authql.db?mode=rwc" \
    EMAIL_URL="file://$WORK/mail" \
    SECRET_KEY="$(od -An -N48 -tx1 /dev/urandom | tr -d ' \n')" \
    RUST_LOG=warn \
    LOG_FORMAT=json \
    MAIL_RATE_LIMIT=1000/1h \
    LOGIN_RATE_LIMIT=1000/15m \
    REGISTER_RATE_LIMIT=100000/1h \
    ACCESS_TOKEN_TTL=1h \
    JWT_ALGORITHM=EdDSA \
    METRICS_ADDR="127.0.0.1:$METRICS_PORT" \
    JWT_PRIVATE_KEY_FILE="$WORK/jwt.pem" \
    WEBAUTHN_RP_ID=localhost \
    WEBAUTHN_ORIGINS="http://localhost:$PAGE_PORT" \
    AUTH_REDIRECT_URLS="http://localhost:$PAGE_PORT/signed-in" \
    WEBHOOK_ALLOW_PRIVATE=true \
    OAUTH_PROVIDER=true \
    OIDC_PROVIDERS=test \
    OIDC_TEST_ISSUER="$OP_URL" \
    OIDC_TEST_CLIENT_ID=authql \
    OIDC_TEST_CLIENT_SECRET=s3cret \
    OIDC_TEST_DISPLAY_NAME="Test ID" \
    SOCIAL_TRUSTED_PROVIDERS=test \
    "$BIN" serve
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready() { node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$BASE/readyz"; }
for _ in $(seq 1 100); do
  if ready; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server exited at start" >&2
    exit 1
  fi
  sleep 0.2
done
ready || { echo "the server did not get ready" >&2; exit 1; }
echo "clients: authql at $BASE (database and mail in $WORK)"

export AUTHQL_URL="$BASE" AUTHQL_MAIL_DIR="$WORK/mail" AUTHQL_WORK="$WORK" AUTHQL_BIN="$BIN"
export AUTHQL_DATABASE_URL="sqlite://$WORK/authql.db?mode=rwc"
export AUTHQL_METRICS_URL="http://127.0.0.1:$METRICS_PORT"
export AUTHQL_PAGE_ORIGIN="http://localhost:$PAGE_PORT"
export AUTHQL_SIGN_IN_TARGET="http://localhost:$PAGE_PORT/signed-in"
export AUTHQL_OP_URL="$OP_URL"

# --- the steps ---
passed=0
failed=0
failures=()
run_step() {
  local name=$1
  shift
  local t0 rc
  t0=$(date +%s)
  set +e
  "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  set -e
  # The step's own one-line result is its last line; the rest is detail.
  local line
  line=$(tail -n 1 "$WORK/$name.log")
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    printf '%-9s ok    (%ss) %s\n' "$name" "$(($(date +%s) - t0))" "$line"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '%-9s FAIL  (%ss) %s\n' "$name" "$(($(date +%s) - t0))" "$line"
    sed 's/^/    /' "$WORK/$name.log" | tail -n 60
  fi
  cp "$WORK/$name.log" "output/$name.log"
}

for step in "${STEPS[@]}"; do
  case "$step" in
    audit) run_step audit node audit.mjs ;;
    apollo) run_step apollo node apollo.mjs ;;
    webhooks) run_step webhooks node webhooks.mjs ;;
    codegen) run_step codegen node codegen-check.mjs ;;
    graphiql) run_step graphiql node graphiql.mjs ;;
    passkeys) run_step passkeys node passkeys.mjs ;;
    magic) run_step magic node email-sign-in.mjs ;;
    social) run_step social node social.mjs ;;
    oidc) run_step oidc node oauth-rp.mjs ;;
    apache) run_step apache ./apache-rp.sh "$BIN" ;;
    schema) run_step schema node schema-check.mjs ;;
    jose) run_step jose node jose.mjs ;;
    metrics) run_step metrics ./metrics.sh ;;
    fuzz) run_step fuzz ./fuzz.sh ;;
    *)
      echo "unknown step: $step" >&2
      exit 2
      ;;
  esac
done

echo "clients step took $(($(date +%s) - started))s; logs in clients/output/"
echo "clients: ${passed} passed, ${failed} failed"
if [ "$failed" -ne 0 ]; then
  echo "failed steps: ${failures[*]}" >&2
  exit 1
fi
