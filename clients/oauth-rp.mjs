// authql as an OpenID provider (API.md §9.3), seen from a real relying
// party: npm `openid-client` (a certified OpenID Connect RP library) on
// the server side of a confidential client, and Debian's Chromium (via
// playwright-core) as the user's browser on the built-in pages.
//
// The client is made with the CLI (`authql oauth-client create`). The RP
// discovers the provider, sends the browser to the authorization endpoint
// with PKCE S256, state and nonce; the browser signs in on /oauth/login and
// approves on /oauth/consent; the code comes back to the RP's callback
// (a tiny Node server on loopback) with RFC 9207's iss. openid-client
// exchanges it and validates the ID token (EdDSA signature from the JWKS,
// iss, aud, nonce, auth_time); then userinfo, refresh-token rotation (a
// rotated token used again is invalid_grant and ends the OAuth session),
// a second authorization that the browser session and the remembered
// consent answer at once, revocation (userinfo 401, introspection
// inactive), RP-initiated logout (the browser session ends), and a
// foreign redirect_uri refused with a 400 page that redirects nowhere.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { chromium } from 'playwright-core';
import {
  ACTIVATE_WITH_CODE, BASE, check, freshEmail, gqlData, GRAPHQL_URL, mailCode, mailsTo, PASSWORD, REGISTER, runCheck,
  waitForMails,
} from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BIN = process.env.AUTHQL_BIN;
const WORK = process.env.AUTHQL_WORK;
const CLIENT_NAME = 'openid-client RP';
const SCOPES = ['openid', 'email', 'profile', 'offline_access'];

/** What an error from openid-client (or anything else) says, on one line. */
function describe(err) {
  const parts = [err?.name, err?.code, err?.status, err?.error, err?.error_description, err?.message];
  const cause = err?.cause;
  if (cause && typeof cause === 'object' && !(cause instanceof Response)) {
    try {
      parts.push(JSON.stringify(cause).slice(0, 400));
    } catch {
      // not JSON-able: the message says enough
    }
  }
  return parts.filter((p) => p !== undefined && p !== null && p !== '').join(' | ');
}

/** Runs one step of the journey, naming it in any error. */
async function step(what, fn) {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${what}: ${describe(err)}`, { cause: err });
  }
}

/** The error `promise` rejects with; a failure when it resolves. */
async function refused(what, promise) {
  let value;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`${what} was accepted: ${JSON.stringify(value)?.slice(0, 300)}`);
}

/** The HTTP status an openid-client error carries, however it carries it. */
function statusOf(err) {
  return err?.status ?? err?.response?.status ?? (err?.cause instanceof Response ? err.cause.status : undefined);
}

/** OpenID Connect Core's at_hash: the left half of the hash of the access token. */
function atHash(alg, accessToken) {
  const hash = alg === 'EdDSA' || alg === 'Ed25519' || alg.endsWith('512')
    ? 'sha512'
    : alg.endsWith('384') ? 'sha384' : 'sha256';
  const digest = createHash(hash).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** The mail to `to` whose text names `needle`, once the outbox has sent it. */
async function waitForMailNaming(to, needle, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailsTo(to);
    const found = mails.find((m) => m.text.includes(needle) || m.subject.includes(needle));
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to} names ${JSON.stringify(needle)}; subjects: ${mails.map((m) => m.subject).join(' / ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

await runCheck(async () => {
  check(BIN && WORK, 'AUTHQL_BIN and AUTHQL_WORK must be set');

  // --- the user: registered with a password and activated by the mailed code ---
  const email = freshEmail('oidc');
  const username = `rp_${process.pid}_${Date.now() % 1000000}`;
  await gqlData(REGISTER, {
    input: { email, password: PASSWORD, confirmPassword: PASSWORD, username, firstName: 'Ada', lastName: 'Lovelace' },
  });
  const [activation] = await waitForMails(email, 1);
  await gqlData(ACTIVATE_WITH_CODE, { email, code: mailCode(activation) });

  // --- the RP's own web server: its callback and post-logout pages ---
  const hits = [];
  const rp = createServer((req, res) => {
    const url = new URL(req.url, 'http://rp.invalid');
    if (url.pathname === '/cb' || url.pathname === '/bye') hits.push(url.pathname + url.search);
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' })
      .end(`<!doctype html><title>rp</title><p>${url.pathname === '/bye' ? 'signed out' : 'callback'}</p>`);
  });
  await new Promise((resolve) => rp.listen(0, '127.0.0.1', resolve));
  const RP = `http://127.0.0.1:${rp.address().port}`;
  const CB = `${RP}/cb`;
  const BYE = `${RP}/bye`;

  let context = null;
  let profile = null;
  try {
    // --- the client, made by the operator's CLI (a confidential one) ---
    const made = await step('authql oauth-client create', async () => {
      let out;
      try {
        out = execFileSync(BIN, [
          'oauth-client', 'create', '--name', CLIENT_NAME, '--redirect-uri', CB, '--post-logout-redirect-uri', BYE,
        ], {
          cwd: WORK,
          env: { ...process.env, DATABASE_URL: process.env.AUTHQL_DATABASE_URL },
          stdio: ['ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
        });
      } catch (err) {
        throw new Error(`exit ${err.status}: ${String(err.stderr ?? '').trim() || String(err.stdout ?? '').trim()}`);
      }
      try {
        return JSON.parse(out);
      } catch {
        throw new Error(`stdout is not one JSON object: ${out.slice(0, 300)}`);
      }
    });
    check(typeof made.client_id === 'string' && made.client_id, `the CLI printed no client_id: ${JSON.stringify(made)}`);
    check(typeof made.client_secret === 'string' && made.client_secret.length >= 43,
      'the CLI printed no client_secret of 43+ characters');
    check(made.type === 'confidential', `the CLI made a ${made.type} client`);
    check(JSON.stringify(made.redirect_uris) === JSON.stringify([CB]), `redirect_uris ${JSON.stringify(made.redirect_uris)}`);
    const clientId = made.client_id;

    // --- discovery (plain http on loopback: allowInsecureRequests) ---
    const config = await step('discovery', () => oidc.discovery(
      new URL(BASE),
      clientId,
      { client_secret: made.client_secret, require_auth_time: true },
      oidc.ClientSecretBasic(made.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    ));
    const meta = config.serverMetadata();
    check(meta.issuer === BASE, `issuer ${meta.issuer}, expected ${BASE}`);
    check(meta.authorization_endpoint === `${BASE}/oauth/authorize`, `authorization_endpoint ${meta.authorization_endpoint}`);
    check(meta.authorization_response_iss_parameter_supported === true, 'authorization_response_iss_parameter_supported is not true');
    check(meta.code_challenge_methods_supported?.includes('S256'), 'S256 is not among code_challenge_methods_supported');
    check(meta.id_token_signing_alg_values_supported?.includes('EdDSA'),
      `id_token_signing_alg_values_supported ${JSON.stringify(meta.id_token_signing_alg_values_supported)}`);
    check(SCOPES.every((s) => meta.scopes_supported?.includes(s)), `scopes_supported ${JSON.stringify(meta.scopes_supported)}`);
    check(meta.end_session_endpoint && meta.revocation_endpoint && meta.introspection_endpoint && meta.userinfo_endpoint,
      'an endpoint is missing from the metadata');

    /** A fresh authorization request: its URL and the checks it needs. */
    async function request(extra = {}) {
      const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
      const challenge = await oidc.calculatePKCECodeChallenge(pkceCodeVerifier);
      const expectedState = oidc.randomState();
      const expectedNonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: CB,
        scope: SCOPES.join(' '),
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: expectedState,
        nonce: expectedNonce,
        ...extra,
      });
      return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
    }

    // --- a foreign redirect_uri: a 400 page, never a redirect ---
    const evil = await request({ redirect_uri: 'https://evil.example/cb' });
    const evilResp = await fetch(evil.url, { redirect: 'manual' });
    check(evilResp.status === 400, `a foreign redirect_uri answered ${evilResp.status}, expected 400`);
    check(evilResp.headers.get('location') === null, `a foreign redirect_uri got Location: ${evilResp.headers.get('location')}`);
    check((evilResp.headers.get('content-type') ?? '').startsWith('text/html'),
      `the refusal is ${evilResp.headers.get('content-type')}, not a page`);
    await evilResp.body?.cancel();

    // --- the browser ---
    profile = await mkdtemp(join(tmpdir(), 'authql-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      javaScriptEnabled: false,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    context.setDefaultTimeout(15000);
    const navigations = [];
    context.on('request', (r) => {
      if (r.isNavigationRequest()) navigations.push(new URL(r.url()));
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const visited = (path) => navigations.some((u) => u.origin === BASE && u.pathname === path);

    /** Where the browser is, with what the page says when it is an authql page. */
    async function whereAmI() {
      const body = (await page.textContent('body').catch(() => '')) ?? '';
      return `${page.url()}: ${body.replace(/\s+/g, ' ').trim().slice(0, 200)}`;
    }

    /** Presses a form's button and waits until the browser has left this URL. */
    async function submit(selector) {
      const before = page.url();
      await Promise.all([page.waitForURL((u) => u.href !== before), page.click(selector)]);
    }

    /** Takes the browser through an authorization; the code exchanged by openid-client. */
    async function authorize(label, { signIn, consent }) {
      const { url, checks } = await request();
      navigations.length = 0;
      hits.length = 0;
      await page.goto(url.href);
      if (signIn) {
        check(new URL(page.url()).pathname === '/oauth/login', `${label}: expected the sign-in page, at ${await whereAmI()}`);
        check((await page.locator('input[name=username]').count()) === 1, `${label}: no username field on the sign-in page`);
        await page.fill('input[name=username]', email);
        await page.fill('input[name=password]', PASSWORD);
        await submit('form button[type=submit]');
      }
      if (consent) {
        check(new URL(page.url()).pathname === '/oauth/consent', `${label}: expected the consent page, at ${await whereAmI()}`);
        const text = await page.textContent('body');
        check(text.includes(CLIENT_NAME), `${label}: the consent page does not name the client: ${text}`);
        const boxes = page.locator('input[type=checkbox][name=scope]');
        const offered = [];
        for (let i = 0; i < (await boxes.count()); i += 1) {
          const box = boxes.nth(i);
          check(await box.isChecked(), `${label}: the ${await box.getAttribute('value')} box is not checked`);
          offered.push(await box.getAttribute('value'));
        }
        for (const s of ['email', 'profile', 'offline_access']) {
          check(offered.includes(s), `${label}: no checkbox for ${s} (offered: ${offered.join(' ')})`);
        }
        await submit('button[name=decision][value=approve]');
      }
      check(page.url().startsWith(`${CB}?`), `${label}: the browser did not come back to the client, at ${await whereAmI()}`);
      if (!signIn) check(!visited('/oauth/login'), `${label}: the browser was sent to the sign-in page`);
      if (!consent) check(!visited('/oauth/consent'), `${label}: the browser was sent to the consent page`);
      check(hits.length === 1, `${label}: the callback was hit ${hits.length} times`);
      const callback = new URL(hits[0], RP);
      check(!callback.searchParams.has('error'),
        `${label}: the provider answered ${callback.searchParams.get('error')}: ${callback.searchParams.get('error_description')}`);
      check(callback.searchParams.get('iss') === BASE, `${label}: iss ${callback.searchParams.get('iss')} in the callback`);
      check(callback.searchParams.get('state') === checks.expectedState, `${label}: state not returned as sent`);
      const tokens = await step(`${label}: authorizationCodeGrant`,
        () => oidc.authorizationCodeGrant(config, callback, checks));
      const claims = tokens.claims();
      check(claims, `${label}: no ID token`);
      return { tokens, claims };
    }

    // --- 1. the first authorization: sign in, consent, code, tokens ---
    const first = await authorize('first authorization', { signIn: true, consent: true });
    const { tokens, claims } = first;
    check(tokens.token_type === 'bearer', `token_type ${tokens.token_type}`);
    check(typeof tokens.expires_in === 'number' && tokens.expires_in > 0, `expires_in ${tokens.expires_in}`);
    check(tokens.refresh_token, 'no refresh token although offline_access was granted');
    const granted = (tokens.scope ?? '').split(' ');
    check(SCOPES.every((s) => granted.includes(s)), `granted scope ${tokens.scope}`);
    check(claims.iss === BASE && claims.aud === clientId, `ID token iss ${claims.iss} aud ${JSON.stringify(claims.aud)}`);
    check(claims.email === email && claims.email_verified === true,
      `ID token email ${claims.email} email_verified ${claims.email_verified}`);
    check(claims.preferred_username === username && claims.given_name === 'Ada' && claims.family_name === 'Lovelace'
      && claims.name === 'Ada Lovelace', `ID token profile claims ${JSON.stringify(claims)}`);
    check(Array.isArray(claims.amr) && claims.amr.includes('pwd'), `ID token amr ${JSON.stringify(claims.amr)}`);
    check(typeof claims.sid === 'string' && claims.sid, 'no sid in the ID token');
    check(typeof claims.auth_time === 'number', 'no auth_time in the ID token');
    const idHeader = decodeProtectedHeader(tokens.id_token);
    check(idHeader.alg === 'EdDSA' && idHeader.kid, `ID token header ${JSON.stringify(idHeader)}`);
    check(claims.at_hash === atHash(idHeader.alg, tokens.access_token),
      `at_hash ${claims.at_hash}, expected ${atHash(idHeader.alg, tokens.access_token)}`);
    const atHeader = decodeProtectedHeader(tokens.access_token);
    check(['at+jwt', 'application/at+jwt'].includes(String(atHeader.typ).toLowerCase()), `access token typ ${atHeader.typ}`);
    const at = decodeJwt(tokens.access_token);
    check(at.client_id === clientId && at.sub === claims.sub && at.sid === claims.sid,
      `access token claims ${JSON.stringify(at)}`);
    check([at.aud].flat().includes(clientId), `access token aud ${JSON.stringify(at.aud)}`);

    // The consent was remembered and announced to the user.
    await step('consent notice mail', () => waitForMailNaming(email, CLIENT_NAME));
    // The provider's access token is the client's, never a key to /graphql.
    const asKey = await fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    await asKey.body?.cancel();
    check(asKey.status === 401, `/graphql answered ${asKey.status} to a provider access token`);

    // --- userinfo ---
    const info = await step('fetchUserInfo', () => oidc.fetchUserInfo(config, tokens.access_token, claims.sub));
    check(info.email === email && info.email_verified === true, `userinfo ${JSON.stringify(info)}`);
    check(info.name === 'Ada Lovelace' && info.preferred_username === username, `userinfo ${JSON.stringify(info)}`);

    // --- refresh: rotation; the rotated token used again ends the session ---
    const refreshed = await step('refreshTokenGrant', () => oidc.refreshTokenGrant(config, tokens.refresh_token));
    check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token did not rotate');
    check(refreshed.access_token !== tokens.access_token, 'the refresh answered the same access token');
    const refreshedClaims = refreshed.claims();
    check(refreshedClaims, 'no ID token on refresh although openid was granted');
    check(refreshedClaims.sub === claims.sub && refreshedClaims.aud === clientId && refreshedClaims.auth_time === claims.auth_time,
      `the refreshed ID token ${JSON.stringify(refreshedClaims)}`);
    check(refreshedClaims.nonce === undefined, 'the refreshed ID token carries a nonce');
    const reused = await refused('the rotated refresh token used again',
      oidc.refreshTokenGrant(config, tokens.refresh_token));
    check(reused.error === 'invalid_grant', `reusing the rotated refresh token: ${describe(reused)}`);
    const afterReuse = await refused('the newest refresh token after a reuse',
      oidc.refreshTokenGrant(config, refreshed.refresh_token));
    check(afterReuse.error === 'invalid_grant', `the newest refresh token after a reuse: ${describe(afterReuse)}`);
    const deadInfo = await refused('userinfo after a reuse ended the session',
      oidc.fetchUserInfo(config, refreshed.access_token, claims.sub));
    check(statusOf(deadInfo) === 401, `userinfo after a reuse: ${describe(deadInfo)}`);

    // --- 2. again: the browser session and the remembered consent answer at once ---
    const second = await authorize('second authorization', { signIn: false, consent: false });
    check(second.claims.sub === claims.sub, 'the second authorization signed in someone else');
    check(second.claims.sid !== claims.sid, 'the second code exchange did not start a new OAuth session');
    check(second.claims.auth_time === claims.auth_time, 'auth_time is not the browser session\'s sign-in');
    const live = await step('tokenIntrospection (live)', () => oidc.tokenIntrospection(config, second.tokens.access_token));
    check(live.active === true && live.client_id === clientId && live.sub === claims.sub && live.token_type === 'access_token',
      `introspection of a live access token: ${JSON.stringify(live)}`);
    const liveRefresh = await step('tokenIntrospection (refresh)', () => oidc.tokenIntrospection(config, second.tokens.refresh_token));
    check(liveRefresh.active === true && liveRefresh.token_type === 'refresh_token',
      `introspection of a live refresh token: ${JSON.stringify(liveRefresh)}`);
    await step('fetchUserInfo (second)', () => oidc.fetchUserInfo(config, second.tokens.access_token, claims.sub));

    // --- revocation of the access token ends that OAuth session ---
    await step('tokenRevocation', () => oidc.tokenRevocation(config, second.tokens.access_token));
    const revokedInfo = await refused('userinfo with a revoked access token',
      oidc.fetchUserInfo(config, second.tokens.access_token, claims.sub));
    check(statusOf(revokedInfo) === 401, `userinfo with a revoked access token: ${describe(revokedInfo)}`);
    const dead = await step('tokenIntrospection (revoked)', () => oidc.tokenIntrospection(config, second.tokens.access_token));
    check(JSON.stringify(dead) === '{"active":false}', `introspection of a revoked access token: ${JSON.stringify(dead)}`);
    const deadRefresh = await step('tokenIntrospection (revoked session\'s refresh token)',
      () => oidc.tokenIntrospection(config, second.tokens.refresh_token));
    check(deadRefresh.active === false, `introspection of the revoked session's refresh token: ${JSON.stringify(deadRefresh)}`);

    // --- 3. RP-initiated logout ends the OAuth session and the browser session ---
    const third = await authorize('third authorization', { signIn: false, consent: false });
    const byeState = oidc.randomState();
    const logoutUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: third.tokens.id_token,
      post_logout_redirect_uri: BYE,
      state: byeState,
    });
    hits.length = 0;
    await page.goto(logoutUrl.href);
    const bye = new URL(page.url());
    check(`${bye.origin}${bye.pathname}` === BYE && bye.searchParams.get('state') === byeState,
      `logout did not come back to the client with its state, at ${await whereAmI()}`);
    check(hits.length === 1, `the post-logout page was hit ${hits.length} times`);
    const loggedOut = await step('tokenIntrospection (logged out)', () => oidc.tokenIntrospection(config, third.tokens.access_token));
    check(loggedOut.active === false, `introspection after logout: ${JSON.stringify(loggedOut)}`);
    const afterLogout = await request();
    await page.goto(afterLogout.url.href);
    check(new URL(page.url()).pathname === '/oauth/login',
      `after logout the browser was not asked to sign in again, at ${await whereAmI()}`);

    return 'openid-client RP ok: discovery, PKCE S256 + state + nonce, Chromium on the sign-in and consent pages, '
      + 'code -> EdDSA ID token (iss, aud, nonce, auth_time, at_hash) with RFC 9207 iss, userinfo, refresh rotation '
      + '(reuse invalid_grant, session ended), silent re-authorization, revocation -> userinfo 401 + introspection inactive, '
      + 'RP-initiated logout, a foreign redirect_uri refused 400';
  } finally {
    await context?.close().catch(() => {});
    rp.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  }
});
