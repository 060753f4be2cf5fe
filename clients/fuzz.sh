#!/usr/bin/env bash
# Fuzzing /graphql with schemathesis (from .venv, see requirements.txt): a
# fixed number of generated queries and mutations per root field (FUZZ_EXAMPLES,
# default 200; FUZZ_SEED, default 1, keeps CI reproducible), sent with the
# Bearer token of a user signed in through the API. The check is
# fuzz_hooks.py's: no 5xx, no INTERNAL_SERVER_ERROR, every error coded.
# `logout` is left out so the token lives through the run, and the token must
# still authenticate afterwards: the mutations ran as a signed-in user.
# Run by run.sh, which sets AUTHQL_URL, AUTHQL_MAIL_DIR and AUTHQL_WORK.
set -euo pipefail
cd "$(dirname "$0")"
examples=${FUZZ_EXAMPLES:-200}
seed=${FUZZ_SEED:-1}
summary="$AUTHQL_WORK/fuzz-summary.json"

token=$(node --input-type=module -e 'import { signedInUser } from "./lib.mjs"; console.log((await signedInUser("fuzz")).accessToken)')

set +e
SCHEMATHESIS_HOOKS=fuzz_hooks AUTHQL_FUZZ_SUMMARY="$summary" .venv/bin/st --no-color run "$AUTHQL_URL/graphql" \
  --header "Authorization: Bearer $token" \
  --checks authql_no_server_failure \
  --exclude-name Mutation.logout \
  --max-examples "$examples" \
  --seed "$seed" \
  --workers 2 \
  --request-timeout 30 \
  --output-truncate true >"$AUTHQL_WORK/schemathesis.log" 2>&1
rc=$?
set -e
cat "$AUTHQL_WORK/schemathesis.log" >&2
if [ "$rc" -ne 0 ]; then
  echo "FAILED: schemathesis exited $rc (see its report above)"
  exit 1
fi

node --input-type=module - "$token" "$summary" <<'JS'
import { readFileSync } from 'node:fs';
import { gql } from './lib.mjs';
const [token, summaryPath] = process.argv.slice(2);
const { status, body } = await gql('{ me { email } }', {}, { token });
if (status !== 200 || !body.data?.me?.email) {
  console.log(`FAILED: the fuzzing token no longer authenticates (HTTP ${status}): the run did not test signed-in paths`);
  process.exit(1);
}
const outcomes = JSON.parse(readFileSync(summaryPath, 'utf8'));
const operations = new Set(outcomes.map(([label]) => label)).size;
const codes = [...new Set(outcomes.map(([, , code]) => code))].sort().join(' ');
const cases = /(\d+) generated/.exec(readFileSync(`${process.env.AUTHQL_WORK}/schemathesis.log`, 'utf8'))?.[1] ?? '?';
console.log(`schemathesis ok: ${cases} cases over ${operations} operations, no 5xx, no INTERNAL_SERVER_ERROR, every error coded; answers seen: ${codes}`);
JS
