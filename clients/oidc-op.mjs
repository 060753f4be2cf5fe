// A real OpenID provider on loopback for authql's social sign-in tests:
// npm `oidc-provider` (a certified OpenID Provider implementation), with
// the one part every deployment of it writes itself, the login and
// consent interaction, done by the test: the account that signs in next is
// set with `POST /test/next` (`{"sub", "claims"}`), and the interaction
// then completes for it at once, as a user who typed their password and
// agreed would.
//
// With OP_LOGIN_FORM=1 (clients/social.mjs, a real browser) the interaction
// is pages instead, as a deployment's would be: a login form whose
// "login" field takes the subject (one that POST /test/next named, with
// its claims), then a consent page with a "Continue" button.
//
// Environment: OP_PORT (listen on 127.0.0.1), OP_CLIENTS (JSON: the
// clients, each {client_id, client_secret?, redirect_uris}), OP_LOGIN_FORM,
// OP_CONFORM.
// Prints "ready <issuer>" once listening.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OP_CLIENTS ?? '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'none',
  ...c,
}));

const loginForm = process.env.OP_LOGIN_FORM === '1';
const accounts = new Map();
let next = null;

const provider = new Provider(issuer, {
  clients,
  pkce: { methods: ['S256'], required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name', 'name'],
  },
  // Claims in the ID token itself, as Google and Apple send them; with
  // OP_CONFORM=1, only at the UserInfo endpoint (the spec's default).
  conformIdTokenClaims: process.env.OP_CONFORM === '1',
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, ...(accounts.get(sub) ?? {}) }),
  }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ['authql-test-op-cookies'] },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    .end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>${escape(title)}</title>`
      + `<h1>${escape(title)}</h1>${body}</html>`);
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

/** The interaction as pages: GET shows the prompt's form, POST answers it. */
async function interactionPages(req, res) {
  const details = await provider.interactionDetails(req, res);
  const action = `/interaction/${escape(details.uid)}`;
  if (details.prompt.name === 'login') {
    let error = '';
    if (req.method === 'POST') {
      const sub = (await formBody(req)).get('login') ?? '';
      if (accounts.has(sub)) {
        return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
      }
      error = `<p role="alert">No account ${escape(sub)}.</p>`;
    }
    return page(res, 200, 'Sign in to the test provider', `${error}<form method="post" action="${action}">`
      + '<label>Subject <input name="login" autocomplete="username" required autofocus></label> '
      + '<button type="submit">Sign in</button></form>');
  }
  if (req.method === 'POST') {
    await formBody(req);
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return page(res, 200, 'Authorize', `<p>${escape(details.params.client_id)} asks for: ${escape(details.params.scope)}.</p>`
    + `<form method="post" action="${action}"><button type="submit">Continue</button></form>`);
}

async function interaction(req, res) {
  if (loginForm) return interactionPages(req, res);
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (!next) throw new Error('no account set for the next sign-in (POST /test/next)');
    accounts.set(next.sub, next.claims ?? {});
    const result = { login: { accountId: next.sub } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
http
  .createServer(async (req, res) => {
    try {
      if (req.url.startsWith('/interaction/')) return await interaction(req, res);
      if (req.method === 'POST' && req.url === '/test/next') {
        let body = '';
        for await (const chunk of req) body += chunk;
        next = JSON.parse(body);
        // Pages: the account the login form accepts from now on.
        if (loginForm) accounts.set(next.sub, next.claims ?? {});
        res.writeHead(204).end();
        return;
      }
      return callback(req, res);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err?.stack ?? err));
    }
  })
  .listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
