// Passkeys in a real browser (API.md §8.4): Debian's Chromium driven by
// playwright-core, with a CDP virtual authenticator (CTAP2, internal,
// resident keys, user verification). The page is http://localhost:PORT
// (WebAuthn needs a domain: an IP address cannot be a relying party id),
// answered by the browser's own request interception; the GraphQL calls go
// from Node, and the page only does what only a browser can:
// navigator.credentials with the options passed through
// PublicKeyCredential.parse*OptionsFromJSON and the result's toJSON().
// Registers a passkey, signs out, signs in with it (no address), deletes
// it, and sees the next sign-in refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { check, gql, gqlData, runCheck, signedInUser } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PAGE = process.env.AUTHQL_PAGE_ORIGIN;

const create = async (options) => {
  const made = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
  });
  return made.toJSON();
};
const get = async (options) => {
  const got = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  });
  return got.toJSON();
};

await runCheck(async () => {
  check(PAGE?.startsWith('http://localhost:'), 'AUTHQL_PAGE_ORIGIN is not set');
  const user = await signedInUser('passkey');
  const profile = await mkdtemp(join(tmpdir(), 'authql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    await context.route('**/*', (route) => {
      if (route.request().url().startsWith(PAGE)) {
        return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>passkeys</title><p>passkeys</p>' });
      }
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${PAGE}/`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    // Register (the new session is fresh).
    const { beginPasskeyRegistration: reg } = await gqlData(
      'mutation { beginPasskeyRegistration { challengeId options } }', {}, { token: user.accessToken });
    const made = await page.evaluate(create, reg.options);
    const { finishPasskeyRegistration: added } = await gqlData(
      'mutation($c: ID!, $cred: JSON!) { finishPasskeyRegistration(challengeId: $c, credential: $cred, name: "Chromium") { id name } }',
      { c: reg.challengeId, cred: made }, { token: user.accessToken });
    check(added.name === 'Chromium', `registered ${JSON.stringify(added)}`);
    await gqlData('mutation { logout }', {}, { token: user.accessToken });

    // Sign in with it, no address typed.
    const signIn = async () => {
      const { beginPasskeyLogin: login } = await gqlData('mutation { beginPasskeyLogin { challengeId options } }');
      const assertion = await page.evaluate(get, login.options);
      return gql('mutation($c: ID!, $cred: JSON!) { finishPasskeyLogin(challengeId: $c, credential: $cred) { accessToken user { email } } }',
        { c: login.challengeId, cred: assertion });
    };
    const { body } = await signIn();
    const signed = body.data?.finishPasskeyLogin;
    check(signed?.user.email === user.email, `passkey sign-in answered ${JSON.stringify(body)}`);

    // Delete it (the passkey's session is fresh); the browser still holds
    // the key, and the server refuses it.
    await gqlData('mutation($id: ID!) { deletePasskey(id: $id) }', { id: added.id }, { token: signed.accessToken });
    const { body: refused } = await signIn();
    const code = refused.errors?.[0]?.extensions?.code;
    check(code === 'INVALID_CREDENTIALS', `after deletion: ${JSON.stringify(refused)}`);
    return `passkeys in Chromium ok: registered with a virtual authenticator, signed in with no address, deleted, then refused (${code})`;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
