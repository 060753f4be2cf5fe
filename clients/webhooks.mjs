// Webhooks as a team's Node service receives them (API.md §11): a receiver
// on loopback verifies every delivery with npm `standardwebhooks` (the
// Standard Webhooks reference library), while the Apollo Client journey
// (apollo.mjs) runs against the same server. A superuser made with the
// CLI registers the endpoint for every event.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { check, freshEmail, gqlData, LOGIN, PASSWORD, runCheck } from './lib.mjs';

const BIN = process.env.AUTHQL_BIN;
const WORK = process.env.AUTHQL_WORK;

await runCheck(async () => {
  check(BIN && WORK, 'AUTHQL_BIN and AUTHQL_WORK must be set');
  const received = [];
  let webhook = null;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      let event = null;
      try {
        event = webhook.verify(body, req.headers);
      } catch (err) {
        received.push({ ok: false, why: String(err), body });
        res.writeHead(400).end();
        return;
      }
      received.push({ ok: true, id: req.headers['webhook-id'], type: event.type, data: event.data });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/hooks`;
  try {
    const email = freshEmail('webhook-admin');
    execFileSync(BIN, ['create-superuser', '--email', email], {
      cwd: WORK,
      env: { ...process.env, AUTHQL_PASSWORD: PASSWORD, DATABASE_URL: process.env.AUTHQL_DATABASE_URL },
      stdio: 'pipe',
    });
    const { login } = await gqlData(LOGIN, { input: { email, password: PASSWORD } });
    const { createWebhookEndpoint: made } = await gqlData(
      'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id } } }',
      { i: { url, events: ['*'], description: 'clients/webhooks.mjs' } }, { token: login.accessToken });
    webhook = new Webhook(made.secret);

    // The Apollo journey, as it runs on its own.
    const journey = spawn(process.execPath, ['apollo.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    journey.stdout.on('data', (d) => { out += d; });
    const rc = await new Promise((resolve) => journey.on('close', resolve));
    check(rc === 0, `the Apollo journey failed: ${out.trim().split('\n').pop()}`);

    const wanted = ['user.created', 'security.account_activated', 'security.login_succeeded', 'security.logged_out'];
    const deadline = Date.now() + 15000;
    while (!wanted.every((t) => received.some((r) => r.type === t)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const refused = received.filter((r) => !r.ok);
    check(refused.length === 0, `deliveries that did not verify: ${JSON.stringify(refused.slice(0, 2))}`);
    const missing = wanted.filter((t) => !received.some((r) => r.type === t));
    check(missing.length === 0, `never delivered: ${missing.join(', ')}`);
    const ids = new Set(received.map((r) => r.id));
    check(ids.size === received.length, 'a webhook-id was reused across events');
    const types = new Set(received.map((r) => r.type));
    return `webhooks ok: ${received.length} deliveries during the Apollo journey, every one verified by npm standardwebhooks (${types.size} event types)`;
  } finally {
    server.close();
  }
});
