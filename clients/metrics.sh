#!/usr/bin/env bash
# Prometheus's own checker on authql's metrics: drives some traffic (a
# query, a failed sign-in, a mailed link's page), scrapes METRICS_ADDR's
# /metrics and runs `promtool check metrics` (Debian's prometheus package,
# installed when missing) on it; also checks that /metrics is absent on the
# API's own address. Prints one line.
set -euo pipefail
: "${AUTHQL_URL:?}" "${AUTHQL_METRICS_URL:?}"
if ! command -v promtool >/dev/null 2>&1; then
  apt-get update -qq >&2
  # The package's service is not started: only promtool is used.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2
fi
gql() { curl -fsS "$AUTHQL_URL/graphql" -H 'content-type: application/json' -d "$1" >/dev/null; }
gql '{"query":"{ __typename }"}'
gql '{"query":"mutation { login(input: {email: \"nobody@example.com\", password: \"wrong password!!\"}) { __typename } }"}'
curl -s -o /dev/null "$AUTHQL_URL/activate/MQ/not-a-token"
scrape=$(curl -fsS "$AUTHQL_METRICS_URL/metrics")
# promtool exits non-zero on errors; lint findings are printed too.
report=$(printf '%s\n' "$scrape" | promtool check metrics 2>&1) || {
  printf '%s\n' "$report"
  echo "FAILED: promtool check metrics"
  exit 1
}
if [ -n "$report" ]; then
  printf '%s\n' "$report"
  echo "FAILED: promtool lint: $(printf '%s' "$report" | head -n 1)"
  exit 1
fi
for family in authql_http_requests_total authql_http_request_duration_seconds authql_graphql_operations_total \
  authql_logins_total authql_password_hash_duration_seconds authql_password_hash_queue_waiting \
  authql_mail_outbox_pending authql_mail_sent_total authql_db_pool_connections authql_build_info; do
  grep -q "^# TYPE $family " <<<"$scrape" || { echo "FAILED: $family missing"; exit 1; }
done
if printf '%s\n' "$scrape" | grep -v '^#' | grep -qE '@|not-a-token|127\.0\.0\.1'; then
  echo "FAILED: a label carries personal data"
  exit 1
fi
status=$(curl -s -o /dev/null -w '%{http_code}' "$AUTHQL_URL/metrics")
[ "$status" = 404 ] || { echo "FAILED: /metrics on the API address answered $status"; exit 1; }
echo "metrics ok: promtool check metrics passed on $(grep -c '^# TYPE' <<<"$scrape") families; no personal data in labels; /metrics absent on the API address"
