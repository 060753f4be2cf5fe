// Run by deploy/run.sh through HAProxy in front of two authql instances:
// the live WebSocket journey (upgrade through the proxy, revocation heard
// whichever instance served the logout), then load while deploy/run.sh
// restarts each instance in turn with SIGTERM. Every request must succeed:
// a stopping instance answers /readyz 503 at once, finishes what it
// accepted, and HAProxy sends the rest to the other one.
import { existsSync } from 'node:fs';
import { GRAPHQL_URL, check, runCheck, signedInUser } from './lib.mjs';
import { liveJourney } from './live.mjs';

const ROLLED = process.env.ROLLED_FLAG;
const WORKERS = 16;

async function once(token, i) {
  const write = i % 5 === 0;
  const query = write
    ? `mutation { updateProfile(input: {firstName: "Roll ${i % 100}"}) { id } }`
    : '{ me { id email } }';
  const resp = await fetch(GRAPHQL_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = await resp.json().catch(() => null);
  if (resp.status !== 200 || !body || body.errors) {
    throw new Error(`HTTP ${resp.status}: ${JSON.stringify(body)}`);
  }
}

runCheck(async () => {
  const live = await liveJourney();
  const user = await signedInUser('deploy');
  const failures = [];
  let done = 0;
  let rolledAt = null;
  const started = Date.now();
  const stopAt = () => (rolledAt !== null && Date.now() - rolledAt > 2000) || Date.now() - started > 90_000;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = w; !stopAt(); i += WORKERS) {
        if (rolledAt === null && ROLLED && existsSync(ROLLED)) rolledAt = Date.now();
        try {
          await once(user.accessToken, i);
          done++;
        } catch (err) {
          failures.push(err.message ?? String(err));
        }
      }
    }),
  );
  check(rolledAt !== null, 'the rolling restart did not finish within 90 s');
  check(failures.length === 0, `${failures.length} of ${done + failures.length} requests failed: ${failures.slice(0, 3).join(' | ')}`);
  return `deploy ok: ${live}; rolling restart of both instances under load: ${done} requests, 0 failed`;
});
