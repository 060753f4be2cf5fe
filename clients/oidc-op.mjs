// A real OpenID provider on loopback for authql's social sign-in tests:
// npm `oidc-provider` (a certified OpenID Provider implementation), with
// the one part every deployment of it writes itself, the login and
// consent interaction, done by the test: the account that signs in next is
// set with `POST /test/next` (`{"sub", "claims"}`), and the interaction
// then completes for it at once, as a user who typed their password and
// agreed would.
//
// Environment: OP_PORT (listen on 127.0.0.1), OP_CLIENTS (JSON: the
// clients, each {client_id, client_secret?, redirect_uris}). Prints
// "ready <issuer>" once listening.
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
  // Claims in the ID token itself, as Google and Apple send them.
  conformIdTokenClaims: false,
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, ...(accounts.get(sub) ?? {}) }),
  }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ['authql-test-op-cookies'] },
});

async function interaction(req, res) {
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
        res.writeHead(204).end();
        return;
      }
      return callback(req, res);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err?.stack ?? err));
    }
  })
  .listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
