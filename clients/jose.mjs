// jose, the JOSE library Node services verify tokens with, as a service
// beside authql would: it discovers the keys through
// /.well-known/openid-configuration, fetches the JWKS with its remote key
// set, and verifies an access token's signature, issuer and audience with
// no secret of authql's. The server runs with an EdDSA key (run.sh). Also
// checks the assurance claims of a password sign-in, and that a token whose
// payload was altered (raised to aal2) is refused.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { BASE, check, runCheck, signedInUser } from './lib.mjs';

runCheck(async () => {
  const discovery = await (await fetch(`${BASE}/.well-known/openid-configuration`)).json();
  check(discovery.issuer === BASE, `issuer ${discovery.issuer}`);
  const algs = discovery.id_token_signing_alg_values_supported;
  check(Array.isArray(algs) && algs.length === 1 && algs[0] !== 'none', `algorithms ${algs}`);
  const keys = createRemoteJWKSet(new URL(discovery.jwks_uri));

  const user = await signedInUser('jose');
  const header = decodeProtectedHeader(user.accessToken);
  check(header.alg === algs[0] && typeof header.kid === 'string', `header ${JSON.stringify(header)}`);
  const { payload } = await jwtVerify(user.accessToken, keys, {
    issuer: discovery.issuer,
    audience: 'authql',
    algorithms: algs,
  });
  for (const claim of ['sub', 'sid', 'iat', 'exp', 'auth_time', 'scope', 'aal', 'amr']) {
    check(payload[claim] !== undefined, `claim ${claim} missing`);
  }
  // A password sign-in proves one factor (API.md §8.8).
  check(payload.aal === 'aal1', `aal ${payload.aal}`);
  check(
    Array.isArray(payload.amr) && payload.amr.length === 1 && payload.amr[0] === 'pwd',
    `amr ${JSON.stringify(payload.amr)}`,
  );

  const [h, p, s] = user.accessToken.split('.');
  const altered = JSON.parse(Buffer.from(p, 'base64url').toString());
  altered.aal = 'aal2';
  altered.amr = ['pwd', 'otp', 'mfa'];
  const forged = [h, Buffer.from(JSON.stringify(altered)).toString('base64url'), s].join('.');
  let refused = false;
  try {
    await jwtVerify(forged, keys, { issuer: discovery.issuer, audience: 'authql' });
  } catch {
    refused = true;
  }
  check(refused, 'an altered token verified');
  return `jose ok: discovery → JWKS (${header.alg}, kid ${header.kid.slice(0, 8)}…) verified sub, sid, auth_time, scope, aal1 [pwd]; an altered payload refused`;
});
