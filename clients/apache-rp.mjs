// The browser side of apache-rp.sh: Apache's mod_auth_openidc protects
// /protected/ and authql is its OpenID provider (API.md §9.3). Checks that
// a request without a session is sent to authql's authorization endpoint
// (code, PKCE S256, state, nonce, the registered redirect_uri), then takes
// Debian's Chromium (playwright-core, JavaScript off: authql's pages need
// none) through authql's sign-in and consent pages back to the protected
// page, which shows its marker, the REMOTE_USER and the email claim that
// mod_auth_openidc took from the ID token and userinfo. Then the session
// cookie alone opens the page again, and RP-initiated logout through
// mod_auth_openidc ends authql's browser session too.
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, check, runCheck } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SITE = process.env.APACHE_SITE;
const REDIRECT_URI = process.env.APACHE_REDIRECT_URI;
const MARKER = process.env.APACHE_MARKER;
const CLIENT_ID = process.env.APACHE_CLIENT_ID;
const EMAIL = process.env.APACHE_USER_EMAIL;
const USERNAME = process.env.APACHE_USER_NAME;
const PASSWORD = process.env.APACHE_USER_PASSWORD;
const PROTECTED = `${SITE}/protected/`;

/**
 * A top-level navigation without cookies, as a browser's first visit sends
 * it. (fetch would say Sec-Fetch-Mode: cors, which mod_auth_openidc takes
 * for an XHR and answers 401 instead of redirecting.)
 */
function navigate(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

await runCheck(async () => {
  check(SITE && REDIRECT_URI && MARKER && CLIENT_ID && EMAIL && USERNAME && PASSWORD,
    'the APACHE_* variables are not set: run this through apache-rp.sh');

  // --- no session: mod_auth_openidc sends the browser to authql ---
  const meta = await (await fetch(`${BASE}/.well-known/openid-configuration`)).json();
  check(meta.id_token_signing_alg_values_supported?.includes('RS256'),
    `the provider signs with ${JSON.stringify(meta.id_token_signing_alg_values_supported)}, not RS256`);
  const anonymous = await navigate(PROTECTED);
  check(anonymous.status === 302 || anonymous.status === 303,
    `a request without a session cookie answered ${anonymous.status}, not a redirect`);
  const location = new URL(anonymous.headers.location ?? '', SITE);
  check(location.origin + location.pathname === meta.authorization_endpoint,
    `a request without a session cookie went to ${location.href}, not ${meta.authorization_endpoint}`);
  const q = location.searchParams;
  check(q.get('response_type') === 'code', `response_type ${q.get('response_type')}`);
  check(q.get('client_id') === CLIENT_ID, `client_id ${q.get('client_id')}`);
  check(q.get('redirect_uri') === REDIRECT_URI, `redirect_uri ${q.get('redirect_uri')}`);
  check(q.get('code_challenge_method') === 'S256' && /^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? ''),
    `PKCE: ${q.get('code_challenge_method')} ${q.get('code_challenge')}`);
  check(q.get('state') && q.get('nonce'), 'no state or nonce in the authorization request');
  const scopes = (q.get('scope') ?? '').split(' ');
  check(['openid', 'email', 'profile'].every((s) => scopes.includes(s)), `scope ${q.get('scope')}`);

  // --- the browser ---
  const profile = await mkdtemp(join(tmpdir(), 'authql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled: false,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    context.setDefaultTimeout(15000);
    const navigations = [];
    context.on('request', (r) => {
      if (r.isNavigationRequest()) navigations.push(new URL(r.url()));
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const visited = (origin, path) => navigations.some((u) => u.origin === origin && u.pathname === path);

    async function whereAmI() {
      const body = (await page.textContent('body').catch(() => '')) ?? '';
      return `${page.url()}: ${body.replace(/\s+/g, ' ').trim().slice(0, 300)}`;
    }
    async function submit(selector) {
      const before = page.url();
      await Promise.all([page.waitForURL((u) => u.href !== before), page.click(selector)]);
    }
    async function text(selector) {
      return ((await page.textContent(selector).catch(() => null)) ?? '').trim();
    }

    // 1. The protected page: sign-in page, consent page, back to Apache.
    await page.goto(PROTECTED);
    check(page.url().startsWith(`${BASE}/oauth/login?`), `expected authql's sign-in page, at ${await whereAmI()}`);
    await page.fill('input[name=username]', EMAIL);
    await page.fill('input[name=password]', PASSWORD);
    await submit('form button[type=submit]');
    check(page.url().startsWith(`${BASE}/oauth/consent`), `expected authql's consent page, at ${await whereAmI()}`);
    check((await page.textContent('body')).includes('Apache'), `the consent page does not name the client: ${await whereAmI()}`);
    navigations.length = 0;
    await submit('button[name=decision][value=approve]');
    await page.waitForURL((u) => u.href === PROTECTED || u.href === `${PROTECTED}index.html`).catch(() => {});
    check(visited(SITE, '/protected/redirect_uri'), `the browser never reached the redirect_uri, at ${await whereAmI()}`);
    check(page.url() === PROTECTED, `the browser did not come back to ${PROTECTED}, at ${await whereAmI()}`);
    check(await text('#marker') === MARKER, `the protected page does not show its marker, at ${await whereAmI()}`);
    const remoteUser = await text('#remote-user');
    check(remoteUser === USERNAME, `REMOTE_USER ${JSON.stringify(remoteUser)}, expected ${USERNAME}`);
    const email = await text('#email');
    check(email === EMAIL, `the email claim reached Apache as ${JSON.stringify(email)}, expected ${EMAIL}`);

    // 2. Again with the session cookie: no trip to authql.
    navigations.length = 0;
    const again = await page.goto(PROTECTED);
    check(again.status() === 200 && await text('#marker') === MARKER, `the session did not open the page again: ${await whereAmI()}`);
    check(!navigations.some((u) => u.origin === BASE), 'the second visit went to authql');

    // 3. RP-initiated logout: mod_auth_openidc ends its session and sends
    //    the browser to authql's end_session_endpoint, back to the site.
    navigations.length = 0;
    await page.goto(`${REDIRECT_URI}?logout=${encodeURIComponent(`${SITE}/`)}`);
    await page.waitForURL(`${SITE}/`).catch(() => {});
    check(visited(BASE, new URL(meta.end_session_endpoint).pathname),
      `logout did not go through authql's end_session_endpoint, at ${await whereAmI()}`);
    check(page.url() === `${SITE}/`, `logout did not come back to ${SITE}/, at ${await whereAmI()}`);
    await page.goto(PROTECTED);
    check(page.url().startsWith(`${BASE}/oauth/login?`),
      `after logout the protected page did not ask for a sign-in again, at ${await whereAmI()}`);

    return `apache-rp ok: mod_auth_openidc sent a sessionless request to authql (code, PKCE S256, state, nonce); Chromium signed in and consented; the protected page showed its marker, REMOTE_USER ${USERNAME} and email ${EMAIL}; the session cookie reopened it; RP-initiated logout ended both sessions`;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
