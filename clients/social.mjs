// Social sign-in in a real browser (API.md §9.1): Debian's Chromium driven
// by playwright-core, against a real OpenID provider on loopback (npm
// oidc-provider, clients/oidc-op.mjs with its login and consent as pages,
// started by run.sh and trusted with emails). The app is a page on
// AUTHQL_SIGN_IN_TARGET's origin (a Node server that also forwards
// /graphql to authql, as an app's own backend would): it lists
// `socialProviders`, makes a PKCE verifier, and links "Sign in with Test
// ID" to the provider's startUrl with its S256 challenge. Chromium clicks
// it, signs in on the provider's login page, continues on its consent
// page, and comes back to the app's /signed-in with an exchange code, which
// the page exchanges with its verifier (exchangeSocialCode) for a session.
// Checked: the trusted provider's verified email made the account
// (emailVerified, names from the claims, amr ["fed"], one identity), the
// code is used up, the same subject signs in again to the same account,
// and another subject asserting the same email is IDENTITY_LINK_REQUIRED.
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, GRAPHQL_URL, check, freshEmail, gql, gqlData, runCheck } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TARGET = process.env.AUTHQL_SIGN_IN_TARGET;
const OP = process.env.AUTHQL_OP_URL;

// The app: its home page signs in, its /signed-in page finishes.
const HOME = `<!doctype html><html lang="en"><meta charset="utf-8"><title>app</title>
<h1>The app</h1><nav id="providers" aria-busy="true"></nav>
<script type="module">
const gql = async (query, variables = {}, token) => {
  const resp = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return resp.json();
};
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
sessionStorage.setItem('pkce-verifier', verifier);
const { data, errors } = await gql('{ socialProviders { name displayName startUrl } }');
const nav = document.getElementById('providers');
if (errors) nav.textContent = 'socialProviders failed: ' + JSON.stringify(errors);
for (const p of data?.socialProviders ?? []) {
  const a = document.createElement('a');
  a.href = p.startUrl + '?' + new URLSearchParams({
    redirect_to: location.origin + '/signed-in',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  a.textContent = 'Sign in with ' + p.displayName;
  nav.append(a, ' ');
}
nav.setAttribute('aria-busy', 'false');
</script></html>`;

const SIGNED_IN = `<!doctype html><html lang="en"><meta charset="utf-8"><title>app: signed in?</title>
<p id="status">finishing…</p>
<script type="module">
const gql = async (query, variables = {}, token) => {
  const resp = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return resp.json();
};
const status = document.getElementById('status');
const params = new URLSearchParams(location.search);
const verifier = sessionStorage.getItem('pkce-verifier');
const result = { params: [...params.keys()], verifier };
try {
  if (params.get('error')) throw Object.assign(new Error(params.get('error')), { code: params.get('error') });
  const exchanged = await gql(
    'mutation($c: String!, $v: String) { exchangeSocialCode(code: $c, codeVerifier: $v) { __typename ... on AuthPayload { accessToken user { id } } } }',
    { c: params.get('code'), v: verifier });
  if (exchanged.errors) {
    const code = exchanged.errors[0].extensions?.code;
    throw Object.assign(new Error(code + ': ' + exchanged.errors[0].message), { code });
  }
  const payload = exchanged.data.exchangeSocialCode;
  if (payload.__typename !== 'AuthPayload') throw new Error('exchange answered ' + payload.__typename);
  const { data } = await gql(
    '{ me { id email emailVerified firstName lastName } identities { id provider issuer subject email emailVerified lastUsedAt } }',
    {}, payload.accessToken);
  Object.assign(result, { accessToken: payload.accessToken, me: data.me, identities: data.identities });
  status.textContent = 'Signed in as ' + data.me.email;
} catch (err) {
  Object.assign(result, { error: err.code ?? 'ERROR', message: err.message });
  status.textContent = 'Not signed in: ' + err.message;
}
status.dataset.result = JSON.stringify(result);
</script></html>`;

/** The app's server: its two pages, and /graphql forwarded to authql. */
function appServer() {
  return createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://app');
    if (req.method === 'POST' && pathname === '/graphql') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json;q=0.9' };
      if (req.headers.authorization) headers.authorization = req.headers.authorization;
      const resp = await fetch(GRAPHQL_URL, { method: 'POST', headers, body });
      res.writeHead(resp.status, { 'content-type': resp.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await resp.arrayBuffer()));
      return;
    }
    const page = { '/': HOME, '/signed-in': SIGNED_IN }[pathname];
    if (req.method !== 'GET' || !page) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
  });
}

/** The provider's next account: `sub` with these claims. */
async function opAccount(sub, claims) {
  const resp = await fetch(`${OP}/test/next`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, claims }),
  });
  check(resp.status === 204, `the provider's /test/next answered ${resp.status}`);
}

await runCheck(async () => {
  check(TARGET?.startsWith('http://localhost:'), 'AUTHQL_SIGN_IN_TARGET is not set: run this through clients/run.sh');
  check(OP?.startsWith('http://127.0.0.1:'), 'AUTHQL_OP_URL is not set: run this through clients/run.sh');
  const appOrigin = new URL(TARGET).origin;
  const email = freshEmail('social');
  const sub = `subject-${process.pid}-${Date.now()}`;
  await opAccount(sub, { email, email_verified: true, given_name: 'Sam', family_name: 'Social' });

  const app = appServer();
  await new Promise((resolve, reject) => {
    app.once('error', reject);
    app.listen(Number(new URL(TARGET).port), '127.0.0.1', resolve);
  });
  const profile = await mkdtemp(join(tmpdir(), 'authql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  context.setDefaultTimeout(20000);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const seen = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) seen.push(frame.url());
    });

    /** From the app's home page through the provider as `subject`: the result the page shows. */
    const signIn = async (subject) => {
      seen.length = 0;
      await page.goto(`${appOrigin}/`);
      const link = page.getByRole('link', { name: 'Sign in with Test ID' });
      const href = await link.getAttribute('href');
      check(href?.startsWith(`${BASE}/auth/test/start?`), `the app's link is ${href}`);
      const start = new URL(href);
      check(start.searchParams.get('code_challenge')?.length === 43, `no S256 challenge in ${href}`);

      // The provider's login page.
      await Promise.all([page.waitForURL((u) => u.href.startsWith(`${OP}/interaction/`)), link.click()]);
      check(await page.title() === 'Sign in to the test provider', `not the provider's login page: ${await page.title()} at ${page.url()}`);
      await page.getByLabel('Subject').fill(subject);
      // Its consent page, then back to the app.
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForFunction(() => document.title === 'Authorize');
      check(page.url().startsWith(`${OP}/interaction/`), `the consent page is at ${page.url()}`);
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(TARGET)),
        page.getByRole('button', { name: 'Continue' }).click(),
      ]);
      const landed = new URL(page.url());
      const status = page.locator('#status[data-result]');
      await status.waitFor();
      const result = JSON.parse(await status.getAttribute('data-result'));
      result.text = await status.textContent();
      result.landed = landed;
      result.via = [...seen];
      return result;
    };

    // First sign-in: the trusted provider's verified email makes the account.
    const first = await signIn(sub);
    check(!first.error, `first sign-in: the app says "${first.text}"`);
    check(JSON.stringify(first.params) === '["code"]', `the app was sent back with ${first.landed.search}: only code is expected`);
    check(first.text === `Signed in as ${email}`, `the app says "${first.text}"`);
    check(first.me.email === email && first.me.emailVerified === true, `me: ${JSON.stringify(first.me)}`);
    check(first.me.firstName === 'Sam' && first.me.lastName === 'Social', `names: ${JSON.stringify(first.me)}`);
    check(first.via.some((u) => u.startsWith(`${OP}/interaction/`)), `the browser never saw the provider: ${first.via.join(' -> ')}`);
    console.log(`the browser went: ${first.via.map((u) => { const x = new URL(u); return x.origin + x.pathname; }).join(' -> ')}`);
    check(first.identities.length === 1, `identities: ${JSON.stringify(first.identities)}`);
    const [identity] = first.identities;
    check(identity.provider === 'test' && identity.issuer === OP && identity.subject === sub
      && identity.email === email && identity.emailVerified === true && identity.lastUsedAt,
      `identity: ${JSON.stringify(identity)}`);
    const { sessions } = await gqlData('{ sessions { current amr aal } }', {}, { token: first.accessToken });
    const current = sessions.find((s) => s.current);
    check(JSON.stringify(current?.amr) === '["fed"]' && current.aal === 'aal1', `session: ${JSON.stringify(sessions)}`);
    // The exchange code was used up by the page.
    const replay = await gql('mutation($c: String!, $v: String) { exchangeSocialCode(code: $c, codeVerifier: $v) { __typename } }',
      { c: first.landed.searchParams.get('code'), v: first.verifier });
    const replayCode = replay.body.errors?.[0]?.extensions?.code;
    check(replayCode === 'INVALID_TOKEN', `the used code again: ${JSON.stringify(replay.body)}`);

    // The same subject again, from a browser the provider no longer knows:
    // the same account, still one identity.
    await context.clearCookies();
    const second = await signIn(sub);
    check(!second.error, `second sign-in: the app says "${second.text}"`);
    check(second.me.id === first.me.id, `the second sign-in is user ${second.me.id}, the first ${first.me.id}`);
    check(second.identities.length === 1 && second.identities[0].id === identity.id,
      `identities after the second sign-in: ${JSON.stringify(second.identities)}`);

    // Another subject asserting the same verified email: the account
    // already has an identity of this provider, so no link and no sign-in.
    await context.clearCookies();
    const other = `${sub}-other`;
    await opAccount(other, { email, email_verified: true });
    const third = await signIn(other);
    check(third.error === 'IDENTITY_LINK_REQUIRED', `another subject with the same email: the app says "${third.text}"`);
    const { identities: after } = await gqlData('{ identities { id } }', {}, { token: second.accessToken });
    check(after.length === 1, `identities after the refused subject: ${JSON.stringify(after)}`);

    return `social sign-in in Chromium ok: "Sign in with Test ID" -> oidc-provider's login and consent pages -> back with only a code, exchanged with the page's PKCE verifier: ${email} (verified, amr fed, 1 identity), code used up, same subject again = same user, another subject with that email IDENTITY_LINK_REQUIRED`;
  } finally {
    await context.close();
    app.close();
    await rm(profile, { recursive: true, force: true });
  }
});
