// Shared by the client checks: where the server is, plain GraphQL over fetch,
// the mailbox (the server's file transport: one .eml per message) and a
// registered, activated, signed-in user made through the public API only.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';

export const BASE = mustEnv('AUTHQL_URL');
export const GRAPHQL_URL = `${BASE}/graphql`;
export const MAIL_DIR = mustEnv('AUTHQL_MAIL_DIR');
export const PASSWORD = 'a sturdy passphrase 42';

function mustEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: run this through clients/run.sh`);
    process.exit(2);
  }
  return value;
}

/** A unique address per call, so steps never collide on one database. */
let counter = 0;
export function freshEmail(tag) {
  counter += 1;
  return `${tag}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** One GraphQL request the way any client sends it; returns status and body. */
export async function gql(query, variables = {}, { token, headers = {} } = {}) {
  const resp = await fetch(GRAPHQL_URL, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: resp.status, body: await resp.json() };
}

/** Like `gql`, but the result's `data`, or an error naming every error code. */
export async function gqlData(query, variables, opts) {
  const { status, body } = await gql(query, variables, opts);
  if (body.errors?.length) {
    const codes = body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; ');
    throw new Error(`HTTP ${status}: ${codes}`);
  }
  return body.data;
}

/** Every message in the mailbox to `to`, oldest first. */
export async function mailsTo(to) {
  let names;
  try {
    names = (await readdir(MAIL_DIR)).filter((n) => n.endsWith('.eml'));
  } catch {
    return [];
  }
  const mails = [];
  for (const name of names) {
    const path = join(MAIL_DIR, name);
    const [raw, info] = await Promise.all([readFile(path), stat(path)]);
    const parsed = await simpleParser(raw);
    const addresses = (parsed.to?.value ?? []).map((a) => a.address?.toLowerCase());
    if (addresses.includes(to.toLowerCase())) {
      mails.push({ mtime: info.mtimeMs, subject: parsed.subject ?? '', text: parsed.text ?? '', html: parsed.html || '' });
    }
  }
  return mails.sort((a, b) => a.mtime - b.mtime);
}

/** Waits (the outbox delivers in the background) until `to` has `n` messages. */
export async function waitForMails(to, n, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailsTo(to);
    if (mails.length >= n) return mails;
    if (Date.now() > deadline) throw new Error(`expected ${n} mails to ${to}, found ${mails.length}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The 6-digit code a mail announces ("…code: 123456" / "…code is: 123456"). */
export function mailCode(mail) {
  const m = /code(?: is)?: (\d{6})\b/.exec(mail.text);
  if (!m) throw new Error(`no 6-digit code in: ${mail.text}`);
  return m[1];
}

/** `{ uid, token }` of the first `/{path}/{uid}/{token}` link in a mail. */
export function mailLink(mail, path) {
  const m = new RegExp(`/${path}/([^/\\s]+)/([^\\s/>"]+)`).exec(mail.text);
  if (!m) throw new Error(`no /${path}/ link in: ${mail.text}`);
  return { uid: m[1], token: m[2] };
}

export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { email activationRequired } }`;
export const ACTIVATE_WITH_CODE = `mutation ActivateWithCode($email: String!, $code: String!) { activateAccountWithCode(email: $email, code: $code) { id email isActive } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { __typename ... on AuthPayload { accessToken refreshToken user { id email } } ... on OtpChallenge { challengeId } } }`;

/** Registers, activates by the mailed code and signs in: `{ email, accessToken, refreshToken }`. */
export async function signedInUser(tag) {
  const email = freshEmail(tag);
  await gqlData(REGISTER, { input: { email, password: PASSWORD, confirmPassword: PASSWORD } });
  const [mail] = await waitForMails(email, 1);
  await gqlData(ACTIVATE_WITH_CODE, { email, code: mailCode(mail) });
  const { login } = await gqlData(LOGIN, { input: { email, password: PASSWORD } });
  check(login.__typename === 'AuthPayload', `login answered ${login.__typename}`);
  return { email, accessToken: login.accessToken, refreshToken: login.refreshToken };
}

/** Runs a check's `main`, printing its one-line result last; exit 1 on failure. */
export async function runCheck(main) {
  try {
    const line = await main();
    console.log(line);
  } catch (err) {
    console.error(err?.stack ?? String(err));
    console.log(`FAILED: ${err?.message ?? err}`);
    process.exit(1);
  }
}
