// GraphiQL in a real browser: Debian's Chromium driven by playwright-core
// (no browser download), headless, a fresh profile, every request that is not
// to the loopback interface aborted. Opens /graphql as a browser does, types
// `{ me { email } }` and an `Authorization: Bearer …` header of a user signed
// in through the API, runs it and expects that user's email in the result
// pane; then runs a securityEvents subscription over WebSocket and expects
// an event in the pane. Saves a screenshot under clients/output/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, check, gqlData, runCheck, signedInUser } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = new URL('output/graphiql.png', import.meta.url).pathname;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

await runCheck(async () => {
  const user = await signedInUser('graphiql');
  const profile = await mkdtemp(join(tmpdir(), 'authql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
  });
  const blocked = [];
  const pageErrors = [];
  try {
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      const local = ['data:', 'blob:'].includes(url.protocol) || LOOPBACK.has(url.hostname);
      if (local) return route.continue();
      blocked.push(url.href);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));

    const resp = await page.goto(`${BASE}/graphql`, { waitUntil: 'load' });
    check(resp?.status() === 200, `GET /graphql answered ${resp?.status()}`);
    check((resp.headers()['content-type'] ?? '').startsWith('text/html'), 'GET /graphql did not serve HTML to the browser');
    await page.locator('.graphiql-container').waitFor({ timeout: 20000 });
    const queryEditor = page.locator('.graphiql-query-editor .CodeMirror').first();
    await queryEditor.waitFor();
    // A first visit shows the authenticator-app walkthrough.
    const shown = await queryEditor.innerText();
    check(shown.includes('authenticator app walkthrough') && shown.includes('BeginTotpEnrollment'), `the editor starts with: ${shown.slice(0, 200)}`);

    // The query: select what the editor holds and type over it. insertText
    // types the text as input (no per-key bracket auto-closing).
    await queryEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('{ me { email } }');

    // The headers pane (shown by default; its tab makes sure).
    await page.getByRole('button', { name: 'Headers' }).first().click();
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').first();
    await headersEditor.waitFor();
    await headersEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${user.accessToken}` }));

    const answered = page.waitForResponse(
      (r) => r.url().startsWith(`${BASE}/graphql`) && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('me'),
    );
    await page.locator('.graphiql-execute-button').click();
    const graphqlResponse = await answered;
    check(graphqlResponse.status() === 200, `the playground's request got HTTP ${graphqlResponse.status()}`);
    const sentAuth = await graphqlResponse.request().headerValue('authorization');
    check(sentAuth === `Bearer ${user.accessToken}`, 'the playground did not send the typed Authorization header');

    const result = page.locator('.result-window');
    await result.getByText(user.email).first().waitFor({ timeout: 10000 });
    const text = await result.innerText();
    check(text.includes(`"email": "${user.email}"`), `the result pane shows: ${text}`);

    // A subscription from the playground: over WebSocket (graphql-ws in
    // GraphiQL, the headers as connection_init's payload); an event the
    // API records then shows in the result pane.
    await queryEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // Named: GraphiQL's fetcher sends only named subscriptions over WebSocket.
    await page.keyboard.insertText('subscription Live { securityEvents { type } }');
    // The fetcher picks WebSocket from the editor's parsed document, which
    // GraphiQL updates a moment after typing.
    await page.waitForTimeout(1000);
    await page.locator('.graphiql-execute-button').click();
    let seen = false;
    for (let i = 0; !seen && i < 10; i++) {
      await gqlData(`mutation { updateProfile(input: {firstName: "Playground ${i}"}) { id } }`, {}, { token: user.accessToken });
      seen = await result.getByText('PROFILE_UPDATED').first().waitFor({ timeout: 1000 }).then(() => true, () => false);
    }
    check(seen, `no event in the result pane: ${await result.innerText()}`);
    await page.screenshot({ path: SCREENSHOT });
    check(pageErrors.length === 0, `errors in the page: ${pageErrors.join('; ')}`);
    if (blocked.length) console.error(`blocked non-loopback requests: ${blocked.join(', ')}`);
    return `GraphiQL in Chromium ok: rendered, ran { me { email } } with the Bearer header, result shows ${user.email}, a securityEvents subscription showed PROFILE_UPDATED; ${blocked.length} non-loopback requests blocked; screenshot ${SCREENSHOT}`;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
