// Apollo Client 4, from Node ESM with the global fetch, through the journey a
// front end takes today: register, activate (by the mailed link and by the
// mailed code), login (both LoginResult branches, two-factor by mailed code),
// me, refreshToken, the 401 -> refresh -> retry recipe of the README, logout
// and the next `me` failing with UNAUTHENTICATED (HTTP 401), then one
// BatchHttpLink request carrying several queries, then an authenticator app
// (totp.mjs), then a GraphQLWsLink subscription closed by a logout
// (live.mjs). The product steps run once
// schema.graphql has `createProduct` (see PRODUCTS below).
import { readFileSync } from 'node:fs';
import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql,
} from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { relayStylePagination } from '@apollo/client/utilities';
import { from, switchMap } from 'rxjs';
import {
  GRAPHQL_URL,
  PASSWORD,
  check,
  freshEmail,
  mailCode,
  mailLink,
  runCheck,
  waitForMails,
} from './lib.mjs';
import { liveJourney } from './live.mjs';
import { organizationsJourney } from './organizations.mjs';
import { totpJourney } from './totp.mjs';

const SCHEMA_SDL = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');

// --- documents -------------------------------------------------------------
const REGISTER = gql`
  mutation Register($input: RegisterInput!) {
    register(input: $input) { email activationRequired }
  }
`;
const ACTIVATE = gql`
  mutation Activate($uid: String!, $token: String!) {
    activateAccount(uid: $uid, token: $token) { id email isActive }
  }
`;
const ACTIVATE_WITH_CODE = gql`
  mutation ActivateWithCode($email: String!, $code: String!) {
    activateAccountWithCode(email: $email, code: $code) { id email isActive }
  }
`;
const AUTH_FIELDS = gql`
  fragment AuthFields on AuthPayload {
    accessToken refreshToken tokenType expiresIn user { id email }
  }
`;
const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on AuthPayload { ...AuthFields }
      ... on OtpChallenge { challengeId expiresAt sentTo }
    }
  }
  ${AUTH_FIELDS}
`;
const VERIFY_OTP = gql`
  mutation VerifyOtp($challengeId: ID!, $code: String!) {
    verifyOtp(challengeId: $challengeId, code: $code) { ...AuthFields }
  }
  ${AUTH_FIELDS}
`;
const REFRESH = gql`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { ...AuthFields }
  }
  ${AUTH_FIELDS}
`;
const ENABLE_TWO_FACTOR = gql`
  mutation EnableTwoFactor($password: String!) {
    enableTwoFactor(password: $password) { id twoFactorEnabled }
  }
`;
const LOGOUT = gql`
  mutation Logout { logout }
`;
const ME = gql`
  query Me { me { id email isActive twoFactorEnabled } }
`;
const SESSIONS = gql`
  query Sessions { sessions { id current createdAt } }
`;
const API_TOKENS = gql`
  query ApiTokens { apiTokens { id name } }
`;
const TYPENAME = gql`
  query Typename { __typename }
`;

// --- clients ---------------------------------------------------------------

/** The global fetch, counting requests and remembering their bodies and statuses. */
function countingFetch() {
  const calls = [];
  const fn = async (input, init) => {
    const resp = await fetch(input, init);
    calls.push({ body: init?.body ? JSON.parse(init.body) : undefined, status: resp.status });
    return resp;
  };
  return { fetch: fn, calls };
}

/** `Authorization: Bearer` from the current token, as a front end would. */
function authLink(getToken) {
  return new SetContextLink((prev) => {
    const token = getToken();
    return token ? { headers: { ...prev.headers, authorization: `Bearer ${token}` } } : {};
  });
}

function client(link, cache = new InMemoryCache()) {
  return new ApolloClient({
    link,
    cache,
    defaultOptions: {
      query: { fetchPolicy: 'network-only' },
      watchQuery: { fetchPolicy: 'network-only' },
    },
  });
}

/** A client whose token can change, over HttpLink. */
function httpClient(getToken = () => undefined) {
  const counter = countingFetch();
  const apollo = client(ApolloLink.from([authLink(getToken), new HttpLink({ uri: GRAPHQL_URL, fetch: counter.fetch })]));
  return { apollo, calls: counter.calls };
}

function codes(err) {
  return CombinedGraphQLErrors.is(err) ? err.errors.map((e) => e.extensions?.code) : [];
}

/** Runs `fn`, which must fail with a GraphQL error of `code`. */
async function expectCode(code, fn) {
  try {
    await fn();
  } catch (err) {
    check(codes(err).includes(code), `expected ${code}, got ${err?.name}: ${err?.message} ${JSON.stringify(codes(err))}`);
    return err;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

// --- the journey -------------------------------------------------------------

/** Registers through Apollo and returns the address. */
async function register(apollo, tag) {
  const email = freshEmail(tag);
  const { data } = await apollo.mutate({
    mutation: REGISTER,
    variables: { input: { email, password: PASSWORD, confirmPassword: PASSWORD } },
  });
  check(data.register.email === email && data.register.activationRequired === true, `register: ${JSON.stringify(data)}`);
  return email;
}

async function login(apollo, email) {
  const { data } = await apollo.mutate({ mutation: LOGIN, variables: { input: { email, password: PASSWORD } } });
  return data.login;
}

async function me(apollo) {
  const { data } = await apollo.query({ query: ME });
  return data.me;
}

await runCheck(async () => {
  const done = [];
  const anonymous = httpClient().apollo;

  // 1. Register, activate by the link in the mail, sign in (AuthPayload branch).
  const alice = { email: await register(anonymous, 'apollo-link') };
  const [activationMail] = await waitForMails(alice.email, 1);
  const { uid, token } = mailLink(activationMail, 'activate');
  const activated = (await anonymous.mutate({ mutation: ACTIVATE, variables: { uid, token } })).data.activateAccount;
  check(activated.isActive && activated.email === alice.email, `activateAccount: ${JSON.stringify(activated)}`);
  done.push('register', 'activate by link');

  let payload = await login(anonymous, alice.email);
  check(payload.__typename === 'AuthPayload', `login answered ${payload.__typename}`);
  check(payload.tokenType === 'Bearer' && payload.expiresIn > 0, `login: ${JSON.stringify(payload)}`);
  alice.access = payload.accessToken;
  alice.refresh = payload.refreshToken;
  done.push('login → AuthPayload');

  // 2. me and sessions with the Bearer token.
  const aliceClient = httpClient(() => alice.access);
  check((await me(aliceClient.apollo)).email === alice.email, 'me is not alice');
  const sessions = (await aliceClient.apollo.query({ query: SESSIONS })).data.sessions;
  check(sessions.some((s) => s.current), `no current session in ${JSON.stringify(sessions)}`);
  done.push('me');

  // 3. refreshToken rotates both tokens; the new access token works.
  payload = (await anonymous.mutate({ mutation: REFRESH, variables: { refreshToken: alice.refresh } })).data.refreshToken;
  check(payload.refreshToken !== alice.refresh, 'the refresh token did not rotate');
  alice.access = payload.accessToken;
  alice.refresh = payload.refreshToken;
  check((await me(aliceClient.apollo)).email === alice.email, 'me after refresh is not alice');
  done.push('refreshToken');

  // 4. The README's recipe: a 401 (here: a token the server does not accept)
  //    makes the ErrorLink refresh once and retry the operation.
  let refreshes = 0;
  const state = { access: 'not-a-valid-jwt', refresh: alice.refresh };
  const refreshLink = new ErrorLink(({ error, operation, forward }) => {
    const status = operation.getContext().response?.status;
    const unauthenticated = codes(error).includes('UNAUTHENTICATED');
    if (status !== 401 || !unauthenticated || operation.getContext().retried) return undefined;
    operation.setContext({ retried: true });
    return from(
      anonymous.mutate({ mutation: REFRESH, variables: { refreshToken: state.refresh } }).then(({ data }) => {
        refreshes += 1;
        state.access = data.refreshToken.accessToken;
        state.refresh = data.refreshToken.refreshToken;
      }),
    ).pipe(switchMap(() => forward(operation)));
  });
  const retrying = client(
    ApolloLink.from([refreshLink, authLink(() => state.access), new HttpLink({ uri: GRAPHQL_URL })]),
  );
  check((await me(retrying)).email === alice.email, 'me after the 401 → refresh retry is not alice');
  check(refreshes === 1, `expected one refresh, saw ${refreshes}`);
  alice.access = state.access;
  alice.refresh = state.refresh;
  done.push('401 → refresh → retry');

  // 5. logout; the next `me` with that token is a 401 UNAUTHENTICATED that
  //    Apollo surfaces as CombinedGraphQLErrors.
  const loggedOut = (await aliceClient.apollo.mutate({ mutation: LOGOUT })).data.logout;
  check(loggedOut === true, 'logout did not answer true');
  await expectCode('UNAUTHENTICATED', () => me(aliceClient.apollo));
  const last = aliceClient.calls.at(-1);
  check(last.status === 401, `the revoked token got HTTP ${last.status}, not 401`);
  await expectCode('INVALID_TOKEN', () =>
    anonymous.mutate({ mutation: REFRESH, variables: { refreshToken: alice.refresh } }),
  );
  done.push('logout → 401 UNAUTHENTICATED');

  // 6. A second user: activation by code, two-factor on, login → OtpChallenge,
  //    the code from the mail, verifyOtp.
  const bob = { email: await register(anonymous, 'apollo-otp') };
  const [bobActivation] = await waitForMails(bob.email, 1);
  const byCode = (
    await anonymous.mutate({ mutation: ACTIVATE_WITH_CODE, variables: { email: bob.email, code: mailCode(bobActivation) } })
  ).data.activateAccountWithCode;
  check(byCode.isActive, 'activation by code did not activate');
  done.push('activate by code');
  payload = await login(anonymous, bob.email);
  check(payload.__typename === 'AuthPayload', `login answered ${payload.__typename}`);
  bob.access = payload.accessToken;
  const bobClient = httpClient(() => bob.access);
  const enabled = (await bobClient.apollo.mutate({ mutation: ENABLE_TWO_FACTOR, variables: { password: PASSWORD } }))
    .data.enableTwoFactor;
  check(enabled.twoFactorEnabled === true, 'enableTwoFactor did not enable');
  await waitForMails(bob.email, 2); // the security notice
  const challenge = await login(anonymous, bob.email);
  check(challenge.__typename === 'OtpChallenge', `login with two-factor answered ${challenge.__typename}`);
  check(challenge.sentTo.includes('***@example.com'), `sentTo is not masked: ${challenge.sentTo}`);
  const codeMail = (await waitForMails(bob.email, 3)).at(-1);
  payload = (
    await anonymous.mutate({ mutation: VERIFY_OTP, variables: { challengeId: challenge.challengeId, code: mailCode(codeMail) } })
  ).data.verifyOtp;
  check(payload.user.email === bob.email, 'verifyOtp signed in someone else');
  bob.access = payload.accessToken;
  const bobMe = await me(bobClient.apollo);
  check(bobMe.email === bob.email && bobMe.twoFactorEnabled === true, `me: ${JSON.stringify(bobMe)}`);
  done.push('login → OtpChallenge → verifyOtp');

  // 7. BatchHttpLink: four queries, one HTTP request, answered as an array.
  const batchCounter = countingFetch();
  const batched = client(
    new BatchHttpLink({
      uri: GRAPHQL_URL,
      fetch: batchCounter.fetch,
      batchMax: 10,
      batchInterval: 20,
      headers: { authorization: `Bearer ${bob.access}` },
    }),
  );
  const [r1, r2, r3, r4] = await Promise.all([
    batched.query({ query: ME }),
    batched.query({ query: SESSIONS }),
    batched.query({ query: API_TOKENS }),
    batched.query({ query: TYPENAME }),
  ]);
  check(batchCounter.calls.length === 1, `BatchHttpLink made ${batchCounter.calls.length} requests`);
  const sent = batchCounter.calls[0].body;
  check(Array.isArray(sent) && sent.length === 4, `the batch body was not an array of 4: ${JSON.stringify(sent)}`);
  check(r1.data.me.email === bob.email, 'batched me');
  check(r2.data.sessions.length >= 1 && Array.isArray(r3.data.apiTokens), 'batched sessions/apiTokens');
  check(r4.data.__typename === 'Query', 'batched __typename');
  done.push('BatchHttpLink (4 queries, 1 request)');

  // 8. An authenticator app: enrol, sign in with its code, then a recovery code.
  done.push(await totpJourney(anonymous, (getToken) => httpClient(getToken).apollo));

  // 9. Live security events over WebSocket (GraphQLWsLink + graphql-ws).
  done.push(await liveJourney());
  done.push(await organizationsJourney());

  // ==== PRODUCTS ===========================================================
  // Runs by itself once schema.graphql has `createProduct` (API.md §3).
  if (/\bcreateProduct\s*\(/.test(SCHEMA_SDL)) {
    await products(bob.access);
    done.push('products (create, fetchMore paging, productsPage)');
  } else {
    done.push('products skipped (not in schema.graphql yet)');
  }
  // ==== end PRODUCTS =======================================================

  return `Apollo Client 4 journey ok: ${done.join(', ')}`;
});

// ==== PRODUCTS ===============================================================
// The catalogue steps: createProduct, Relay paging with fetchMore on endCursor
// until hasNextPage is false (relayStylePagination merges the pages in the
// cache), and page-number paging with productsPage.
async function products(accessToken) {
  const CREATE = gql`
    mutation CreateProduct($input: CreateProductInput!) {
      createProduct(input: $input) { id name priceCents inStock owner { email } }
    }
  `;
  const PAGE = gql`
    query Products($first: Int, $after: String, $filter: ProductFilter) {
      products(first: $first, after: $after, filter: $filter) {
        edges { cursor node { id name priceCents } }
        pageInfo { hasNextPage endCursor }
        totalCount
      }
    }
  `;
  const PAGES = gql`
    query ProductsPage($page: Int!, $pageSize: Int!, $filter: ProductFilter) {
      productsPage(page: $page, pageSize: $pageSize, filter: $filter) {
        items { id } page pageSize totalCount totalPages hasNextPage hasPreviousPage
      }
    }
  `;
  const cache = new InMemoryCache({
    typePolicies: { Query: { fields: { products: relayStylePagination(['filter', 'orderBy']) } } },
  });
  const apollo = new ApolloClient({
    link: new HttpLink({ uri: GRAPHQL_URL, headers: { authorization: `Bearer ${accessToken}` } }),
    cache,
  });

  const tag = `apollo${Date.now()}`;
  const created = new Set();
  for (let i = 0; i < 5; i += 1) {
    const { data } = await apollo.mutate({
      mutation: CREATE,
      variables: { input: { name: `${tag} widget ${i}`, description: 'made by clients/apollo.mjs', priceCents: 100 + i } },
    });
    check(data.createProduct.name === `${tag} widget ${i}`, `createProduct: ${JSON.stringify(data)}`);
    created.add(data.createProduct.id);
  }

  // The page the watching query shows: relayStylePagination appends each
  // fetchMore page to the cached list, and the watcher emits the merged list.
  const variables = { first: 2, filter: { search: tag } };
  const watched = apollo.watchQuery({ query: PAGE, variables, fetchPolicy: 'cache-first' });
  let latest;
  const subscription = watched.subscribe({ next: (result) => (latest = result) });
  const shown = async (edges) => {
    for (let i = 0; i < 100; i += 1) {
      if (!latest?.loading && latest?.data?.products?.edges.length >= edges) return latest;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the watched query never showed ${edges} products: ${JSON.stringify(latest?.data)}`);
  };
  let current = await shown(1);
  let fetches = 1;
  try {
    while (current.data.products.pageInfo.hasNextPage) {
      check(fetches < 10, 'paging did not end');
      const before = current.data.products.edges.length;
      await watched.fetchMore({ variables: { after: current.data.products.pageInfo.endCursor } });
      fetches += 1;
      current = await shown(before + 1);
    }
  } finally {
    subscription.unsubscribe();
  }
  const seen = current.data.products.edges.map((e) => e.node.id);
  check(seen.length === 5 && new Set(seen).size === 5, `paged ${seen.length} products: ${JSON.stringify(seen)}`);
  check(seen.every((id) => created.has(id)), 'paging returned products it did not create');
  check(fetches === 3, `expected 3 pages of 2, fetched ${fetches}`);

  const first = (await apollo.query({ query: PAGES, variables: { page: 1, pageSize: 2, filter: { search: tag } } })).data
    .productsPage;
  check(
    first.totalCount === 5 && first.totalPages === 3 && first.items.length === 2 && first.hasNextPage && !first.hasPreviousPage,
    `productsPage 1: ${JSON.stringify(first)}`,
  );
  const lastPage = (await apollo.query({ query: PAGES, variables: { page: 3, pageSize: 2, filter: { search: tag } } })).data
    .productsPage;
  check(lastPage.items.length === 1 && !lastPage.hasNextPage && lastPage.hasPreviousPage, `productsPage 3: ${JSON.stringify(lastPage)}`);
}
