#!/usr/bin/env bash
# authql as the OpenID provider of a C relying party (API.md §9.3): Apache's
# mod_auth_openidc (Debian's libapache2-mod-auth-openidc) protects a static
# page on loopback, and Debian's Chromium (playwright-core, apache-rp.mjs)
# goes through authql's built-in sign-in and consent pages to reach it.
#
# Starts its own authql on a free loopback port (fresh SQLite database and
# file mail in a temp dir, OAUTH_PROVIDER=true, JWT_ALGORITHM=RS256: the
# cjose that mod_auth_openidc 2.4 verifies with knows RS256 and ES256 but
# not EdDSA), makes an active user with `authql create-superuser` and a
# confidential client with `authql oauth-client create`, then its own
# Apache (a self-contained config in the temp dir, run in the foreground as
# the current user) with:
#   /            a public page (readiness)
#   /protected/  AuthType openid-connect, Require valid-user: an SSI page
#                with a marker, REMOTE_USER and the email claim
# The RP discovers authql from /.well-known/openid-configuration, uses the
# code flow with PKCE S256, client_secret_basic or _post, and verifies the
# RS256 ID token from the JWKS. apache-rp.mjs checks the redirect of a
# request without a session, the browser journey, the claims that reach
# Apache, and RP-initiated logout through authql's end_session_endpoint.
#
# Usage: clients/apache-rp.sh path/to/authql
# Needs apache2 and libapache2-mod-auth-openidc (installed by .ci/run, never
# here), node >= 20 with clients/node_modules, and /usr/bin/chromium.
# Prints one final line; exits non-zero on failure after the tails of
# Apache's error log and authql's log (copied to clients/output/ as well).
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/authql" >&2
  exit 2
fi
BIN=$(realpath "$1")
cd "$(dirname "$0")"
CLIENTS=$(pwd)

APACHE=${APACHE:-/usr/sbin/apache2}
MODULES=${APACHE_MODULES_DIR:-/usr/lib/apache2/modules}
missing=()
[ -x "$APACHE" ] || missing+=("$APACHE (Debian package apache2)")
for mod in mpm_event authn_core authz_core authz_user mime dir include auth_openidc; do
  [ -f "$MODULES/mod_$mod.so" ] || missing+=("$MODULES/mod_$mod.so")
done
[ -f "$MODULES/mod_auth_openidc.so" ] || missing+=("(Debian package libapache2-mod-auth-openidc)")
[ -d node_modules/playwright-core ] || missing+=("clients/node_modules (npm ci)")
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=("${CHROMIUM:-/usr/bin/chromium} (Debian package chromium)")
if [ ${#missing[@]} -ne 0 ]; then
  printf 'apache-rp: missing %s\n' "${missing[@]}" >&2
  echo "FAILED: apache-rp needs: apt-get install apache2 libapache2-mod-auth-openidc chromium"
  exit 1
fi
OPENIDC_VERSION=$(dpkg-query -W -f='${Version}' libapache2-mod-auth-openidc 2>/dev/null || echo unknown)

WORK=$(mktemp -d /tmp/authql-apache-rp.XXXXXX)
# The document root is its own directory, readable by Apache's children
# (they run as nobody when this runs as root); $WORK stays private.
WWW=$(mktemp -d /tmp/authql-apache-rp-www.XXXXXX)
chmod 755 "$WWW"
SERVER_PID=""
APACHE_PID=""
stop() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  # Apache first (its parent takes its children with it), then authql.
  stop "$APACHE_PID"
  stop "$SERVER_PID"
  if [ "$rc" -ne 0 ]; then
    mkdir -p "$CLIENTS/output"
    for log in apache/error.log apache/stderr.log authql.log; do
      if [ -s "$WORK/$log" ]; then
        echo "--- last lines of $log ---" >&2
        tail -n 40 "$WORK/$log" >&2 || true
        cp "$WORK/$log" "$CLIENTS/output/apache-rp-$(basename "$log")" 2>/dev/null || true
      fi
    done
    # The one-line result stays the last line (run.sh shows the last line).
    local last=""
    [ -s "$WORK/node.log" ] && last=$(grep '^FAILED:' "$WORK/node.log" | tail -n 1 || true)
    case "$last" in
      FAILED:*) echo "apache-rp $last" ;;
      *) echo "FAILED: apache-rp (exit $rc)${FAIL_REASON:+: $FAIL_REASON}" ;;
    esac
  fi
  rm -rf "$WORK" "$WWW"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FAIL_REASON=""
fail() {
  FAIL_REASON=$1
  echo "apache-rp: $1" >&2
  exit 1
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(free_port)
APORT=$(free_port)
[ "$PORT" != "$APORT" ] || APORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
SITE="http://127.0.0.1:$APORT"
REDIRECT_URI="$SITE/protected/redirect_uri"

# --- authql: its settings, shared by the server and the CLI commands ---
mkdir -p "$WORK/mail"
"$BIN" keys generate --algorithm RS256 "$WORK/jwt.pem"
AUTHQL_ENV=(
  APP_ENV=development
  BIND_ADDR="127.0.0.1:$PORT"
  PUBLIC_URL="$BASE"
  DATABASE_URL="sqlite://$WORK/authql.db?mode=rwc"
  EMAIL_URL="file://$WORK/mail"
  SECRET_KEY="$(od -An -N48 -tx1 /dev/urandom | tr -d ' \n')"
  RUST_LOG=warn
  LOG_FORMAT=json
  JWT_ALGORITHM=RS256
  JWT_PRIVATE_KEY_FILE="$WORK/jwt.pem"
  OAUTH_PROVIDER=true
)
# Run in $WORK so that no .env of the checkout is read.
authql() { (cd "$WORK" && env "${AUTHQL_ENV[@]}" "$BIN" "$@"); }

# The user, active at once (the CLI, no mail round trip), and the client.
EMAIL="apache-rp@example.com"
USERNAME="apache_rp"
PASSWORD="a sturdy passphrase $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
AUTHQL_PASSWORD="$PASSWORD" authql create-superuser --email "$EMAIL" --username "$USERNAME" \
  >"$WORK/create-superuser.log" 2>&1 || { cat "$WORK/create-superuser.log" >&2; fail "authql create-superuser failed"; }
authql oauth-client create --name Apache --redirect-uri "$REDIRECT_URI" --post-logout-redirect-uri "$SITE/" \
  >"$WORK/client.json" 2>"$WORK/oauth-client.log" || { cat "$WORK/oauth-client.log" >&2; fail "authql oauth-client create failed"; }
read -r CLIENT_ID CLIENT_SECRET < <(node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (!c.client_id || !c.client_secret) process.exit(1);
  console.log(c.client_id, c.client_secret);' "$WORK/client.json") \
  || fail "authql oauth-client create printed no client_id and client_secret: $(head -c 300 "$WORK/client.json")"

(cd "$WORK" && exec env "${AUTHQL_ENV[@]}" "$BIN" serve) >"$WORK/authql.log" 2>&1 &
SERVER_PID=$!
ready() { node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"; }
for _ in $(seq 1 100); do
  ready "$BASE/readyz" && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "authql exited at start"
  sleep 0.2
done
ready "$BASE/readyz" || fail "authql did not get ready at $BASE"

# --- Apache: a self-contained config, nothing of /etc/apache2 ---
MARKER="authql-apache-rp-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$WORK/apache/run" "$WWW/protected"
printf '<!doctype html><title>public</title><p>public page</p>\n' >"$WWW/index.html"
# Server-side includes show what mod_auth_openidc hands the application.
cat >"$WWW/protected/index.html" <<EOF
<!doctype html>
<title>protected</title>
<p id="marker">$MARKER</p>
<p>REMOTE_USER=<span id="remote-user"><!--#echo var="REMOTE_USER" --></span></p>
<p>email=<span id="email"><!--#echo var="OIDC_CLAIM_email" --></span></p>
<p>preferred_username=<span id="preferred-username"><!--#echo var="OIDC_CLAIM_preferred_username" --></span></p>
EOF
chmod -R a+rX "$WWW"
RUN_AS=""
if [ "$(id -u)" -eq 0 ]; then
  # Apache refuses to serve as root: its children become nobody.
  RUN_AS="User nobody
Group $(id -gn nobody 2>/dev/null || echo nogroup)"
fi
CONF="$WORK/apache/httpd.conf"
cat >"$CONF" <<EOF
ServerRoot "$WORK/apache"
ServerName 127.0.0.1
Listen 127.0.0.1:$APORT
PidFile "$WORK/apache/httpd.pid"
DefaultRuntimeDir "$WORK/apache/run"
ErrorLog "$WORK/apache/error.log"
LogLevel warn auth_openidc:info
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog "$WORK/apache/access.log" common
$RUN_AS

LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authn_core_module $MODULES/mod_authn_core.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_user_module $MODULES/mod_authz_user.so
LoadModule mime_module $MODULES/mod_mime.so
LoadModule dir_module $MODULES/mod_dir.so
LoadModule include_module $MODULES/mod_include.so
LoadModule auth_openidc_module $MODULES/mod_auth_openidc.so

StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 1
MaxSpareThreads 25
TypesConfig /etc/mime.types
DirectoryIndex index.html
DocumentRoot "$WWW"
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "$WWW">
  Options +Includes
  Require all granted
</Directory>

OIDCProviderMetadataURL $BASE/.well-known/openid-configuration
OIDCClientID $CLIENT_ID
OIDCClientSecret $CLIENT_SECRET
OIDCRedirectURI $REDIRECT_URI
OIDCCryptoPassphrase $(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
OIDCScope "openid email profile"
OIDCPKCEMethod S256
OIDCPassClaimsAs environment
OIDCRemoteUserClaim preferred_username

<Location /protected>
  AuthType openid-connect
  Require valid-user
  AddOutputFilter INCLUDES .html
</Location>
EOF
"$APACHE" -d "$WORK/apache" -f "$CONF" -t >"$WORK/apache/configtest.log" 2>&1 \
  || { cat "$WORK/apache/configtest.log" >&2; fail "apache2 -t refused the config"; }
"$APACHE" -d "$WORK/apache" -f "$CONF" -DFOREGROUND >"$WORK/apache/stderr.log" 2>&1 &
APACHE_PID=$!
for _ in $(seq 1 100); do
  ready "$SITE/" && break
  kill -0 "$APACHE_PID" 2>/dev/null || fail "apache2 exited at start"
  sleep 0.1
done
ready "$SITE/" || fail "apache2 did not answer at $SITE"
echo "apache-rp: authql at $BASE, Apache $("$APACHE" -v | sed -n 's/^Server version: //p') with mod_auth_openidc $OPENIDC_VERSION at $SITE"

# --- the relying party's user: Chromium ---
# TMPDIR: the browser's profile lives in $WORK and goes with it.
set +e
TMPDIR="$WORK" \
  AUTHQL_URL="$BASE" \
  AUTHQL_MAIL_DIR="$WORK/mail" \
  APACHE_SITE="$SITE" \
  APACHE_REDIRECT_URI="$REDIRECT_URI" \
  APACHE_MARKER="$MARKER" \
  APACHE_CLIENT_ID="$CLIENT_ID" \
  APACHE_USER_EMAIL="$EMAIL" \
  APACHE_USER_NAME="$USERNAME" \
  APACHE_USER_PASSWORD="$PASSWORD" \
  node apache-rp.mjs >"$WORK/node.log" 2>&1
rc=$?
set -e
# Everything but the result line, then the result line with the versions.
sed '$d' "$WORK/node.log"
if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
echo "$(tail -n 1 "$WORK/node.log") (mod_auth_openidc $OPENIDC_VERSION, RS256)"
