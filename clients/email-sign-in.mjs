// Passwordless sign-in by email in a real browser (API.md §9.2): Debian's
// Chromium driven by playwright-core. The app asks for a sign-in mail with
// a PKCE challenge; a "mail scanner" fetches the link first (GET and HEAD)
// and burns nothing; the browser opens the mailed link, sees the
// confirmation page, presses its button (a plain form POST, no
// JavaScript), and lands on the app's page with an exchange code, which
// the app exchanges with its verifier for a session with amr ["email"].
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, check, freshEmail, gqlData, mailCode, runCheck, waitForMails } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TARGET = process.env.AUTHQL_SIGN_IN_TARGET;

await runCheck(async () => {
  check(TARGET?.startsWith('http://localhost:'), 'AUTHQL_SIGN_IN_TARGET is not set');
  const email = freshEmail('magic');
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  await gqlData(
    'mutation($e: String!, $r: String, $c: String) { requestEmailSignIn(email: $e, redirectTo: $r, codeChallenge: $c) }',
    { e: email, r: `${TARGET}?from=mail`, c: challenge });
  const [mail] = await waitForMails(email, 1);
  const link = /(https?:\/\/\S+\/email-sign-in\/[A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  check(link?.startsWith(`${BASE}/email-sign-in/`), `no sign-in link in: ${mail.text}`);
  check(/^\d{6}$/.test(mailCode(mail)), 'no code in the mail');

  // A mail scanner opens the link before the person does: nothing happens.
  for (const method of ['GET', 'HEAD']) {
    const scanned = await fetch(link, { method, redirect: 'manual' });
    check(scanned.status === 200, `scanner ${method}: ${scanned.status}`);
    check(scanned.headers.get('referrer-policy') === 'no-referrer', 'no Referrer-Policy on the page');
  }

  // The app's page: a real server on the redirect target's port.
  const app = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><p>signed in</p>');
  });
  await new Promise((resolve) => app.listen(Number(new URL(TARGET).port), '127.0.0.1', resolve));
  const profile = await mkdtemp(join(tmpdir(), 'authql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled: false,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(link);
    const text = await page.textContent('body');
    check(text.includes('***@example.com'), `the confirmation page shows no masked address: ${text}`);
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(TARGET)),
      page.click('button[type=submit]'),
    ]);
    const landed = new URL(page.url());
    check(landed.searchParams.get('from') === 'mail', `the app's own query was lost: ${landed}`);
    const code = landed.searchParams.get('code');
    check(code, `no exchange code in ${landed}`);

    const exchange = 'mutation($c: String!, $v: String) { exchangeSocialCode(code: $c, codeVerifier: $v) { __typename ... on AuthPayload { accessToken user { email emailVerified } } } }';
    const { exchangeSocialCode: signed } = await gqlData(exchange, { c: code, v: verifier });
    check(signed.user.email === email && signed.user.emailVerified, `exchange answered ${JSON.stringify(signed)}`);
    const { sessions } = await gqlData('{ sessions { amr } }', {}, { token: signed.accessToken });
    check(JSON.stringify(sessions[0].amr) === '["email"]', `amr ${JSON.stringify(sessions)}`);

    // The link is used up: opened again it says so and redirects nowhere.
    const again = await page.goto(link);
    check(again.status() === 404, `a used link answered ${again.status()}`);
    return 'email sign-in in Chromium ok: scanner GET/HEAD burned nothing, the confirmation page POSTed, the exchange code and PKCE verifier signed in (amr email), the used link refused';
  } finally {
    await context.close();
    app.close();
    await rm(profile, { recursive: true, force: true });
  }
});
