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
// GitHub's shape: a request without the `openid` scope is plain OAuth 2.0
// here too (no ID token), and the access token it gets reads GitHub's two
// REST endpoints under /api: `GET /api/user` (`{id, login, name}`, the
// numeric id being the subject) and `GET /api/user/emails` (the subject's
// `emails` claim as given to /test/next: `[{email, primary, verified}]`).
// The tokens are oidc-provider's own, checked by it; only those two
// answers' shape is written here, as no GitHub-shaped server exists to run.
//
// Environment: OP_PORT (listen on 127.0.0.1), OP_CLIENTS (JSON: the
// clients, each {client_id, client_secret?, redirect_uris,
// token_endpoint_auth_method?}), OP_LOGIN_FORM, OP_CONFORM,
// OP_ID_TOKEN_TTL (seconds), OP_NEW_KEY=1 (sign with a new RSA key of
// its own instead of oidc-provider's development key, which every
// instance shares: a restart with it is a key rotation).
// Prints "ready <issuer>" once listening.
import crypto from 'node:crypto';
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

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `rotated-${crypto.randomUUID()}`, use: 'sig', alg: 'RS256' };
}
const accounts = new Map();
let next = null;

const provider = new Provider(issuer, {
  clients,
  scopes: ['openid', 'offline_access', 'read:user', 'user:email'],
  ...(process.env.OP_NEW_KEY === '1' ? { jwks: { keys: [newKey()] } } : {}),
  ...(process.env.OP_ID_TOKEN_TTL ? { ttl: { IdToken: Number(process.env.OP_ID_TOKEN_TTL) } } : {}),
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

/** GitHub's `GET /user` and `GET /user/emails`, for oidc-provider's tokens. */
async function githubApi(req, res) {
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = bearer && await provider.AccessToken.find(bearer);
  if (!token || token.isExpired || !req.headers['user-agent']) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
    return;
  }
  const claims = accounts.get(token.accountId) ?? {};
  const answer = req.url.split('?')[0] === '/api/user'
    ? { id: Number(token.accountId), login: claims.login ?? `user${token.accountId}`, name: claims.name ?? null }
    : claims.emails ?? [];
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
}

const callback = provider.callback();
http
  .createServer(async (req, res) => {
    try {
      if (req.url.startsWith('/interaction/')) return await interaction(req, res);
      if (req.method === 'GET' && /^\/api\/user(\/emails)?(\?|$)/.test(req.url)) {
        return await githubApi(req, res);
      }
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
