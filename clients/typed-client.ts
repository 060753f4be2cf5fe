// A small client typed by graphql-codegen (generated/operations.ts from
// operations.graphql, generated/schema.ts from ../schema.graphql).
// `tsc --noEmit` checks it in the codegen step: a schema change that drops or
// retypes a field used here, or an operation that no longer validates, fails CI.
import { readFileSync } from 'node:fs';
import type {
  LoginMutation,
  LoginMutationVariables,
  MeQuery,
  MeQueryVariables,
  ProductsQuery,
  ProductsQueryVariables,
  RefreshTokenMutation,
  RefreshTokenMutationVariables,
  RegisterMutation,
  RegisterMutationVariables,
  SessionsQuery,
  SessionsQueryVariables,
  VerifyOtpMutation,
  VerifyOtpMutationVariables,
} from './generated/operations.js';
import type { User } from './generated/schema.js';

const DOCUMENT = readFileSync(new URL('./operations.graphql', import.meta.url), 'utf8');

interface GraphQLError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

export class AuthqlError extends Error {
  constructor(
    readonly status: number,
    readonly errors: GraphQLError[],
  ) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  }

  get codes(): string[] {
    return this.errors.map((e) => e.extensions?.code ?? '');
  }
}

/** One named operation of operations.graphql, typed by its generated types. */
async function run<TData, TVariables extends Record<string, unknown>>(
  url: string,
  operationName: string,
  variables: TVariables,
  accessToken?: string,
): Promise<TData> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json;q=0.9',
  };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const resp = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: DOCUMENT, operationName, variables }),
  });
  const body = (await resp.json()) as { data?: TData | null; errors?: GraphQLError[] };
  if (body.errors?.length || !body.data) throw new AuthqlError(resp.status, body.errors ?? []);
  return body.data;
}

export type SignIn =
  | { kind: 'signedIn'; accessToken: string; refreshToken: string; email: string | null }
  | { kind: 'challenge'; challengeId: string; sentTo: string };

export class AuthqlClient {
  private accessToken: string | undefined;
  private refreshToken: string | undefined;

  constructor(private readonly url: string) {}

  async register(email: string, password: string): Promise<boolean> {
    const data = await run<RegisterMutation, RegisterMutationVariables>(this.url, 'Register', {
      input: { email, password, confirmPassword: password },
    });
    return data.register.activationRequired;
  }

  /** Both branches of LoginResult, told apart by `__typename`. */
  async login(email: string, password: string): Promise<SignIn> {
    const { login } = await run<LoginMutation, LoginMutationVariables>(this.url, 'Login', {
      input: { email, password },
    });
    switch (login.__typename) {
      case 'AuthPayload':
        this.accessToken = login.accessToken;
        this.refreshToken = login.refreshToken;
        return { kind: 'signedIn', accessToken: login.accessToken, refreshToken: login.refreshToken, email: login.user.email };
      case 'OtpChallenge':
        return { kind: 'challenge', challengeId: login.challengeId, sentTo: login.sentTo };
    }
  }

  async verifyOtp(challengeId: string, code: string): Promise<VerifyOtpMutation['verifyOtp']> {
    const { verifyOtp } = await run<VerifyOtpMutation, VerifyOtpMutationVariables>(this.url, 'VerifyOtp', {
      challengeId,
      code,
    });
    this.accessToken = verifyOtp.accessToken;
    this.refreshToken = verifyOtp.refreshToken;
    return verifyOtp;
  }

  /** `me`, refreshing once when the access token is refused with a 401. */
  async me(): Promise<MeQuery['me']> {
    try {
      return (await run<MeQuery, MeQueryVariables>(this.url, 'Me', {}, this.accessToken)).me;
    } catch (err) {
      if (!(err instanceof AuthqlError) || err.status !== 401 || !this.refreshToken) throw err;
      await this.refresh();
      return (await run<MeQuery, MeQueryVariables>(this.url, 'Me', {}, this.accessToken)).me;
    }
  }

  /** Every product matching `search`, following `endCursor` page by page. */
  async allProducts(search: string): Promise<ProductsQuery['products']['edges'][number]['node'][]> {
    const found: ProductsQuery['products']['edges'][number]['node'][] = [];
    let after: string | null = null;
    for (;;) {
      const variables: ProductsQueryVariables = { first: 50, after, filter: { search } };
      const { products } = await run<ProductsQuery, ProductsQueryVariables>(this.url, 'Products', variables, this.accessToken);
      found.push(...products.edges.map((edge) => edge.node));
      if (!products.pageInfo.hasNextPage) return found;
      after = products.pageInfo.endCursor;
    }
  }

  async sessions(): Promise<SessionsQuery['sessions']> {
    return (await run<SessionsQuery, SessionsQueryVariables>(this.url, 'Sessions', {}, this.accessToken)).sessions;
  }

  private async refresh(): Promise<void> {
    const refreshToken = this.refreshToken;
    if (!refreshToken) throw new Error('not signed in');
    const { refreshToken: payload } = await run<RefreshTokenMutation, RefreshTokenMutationVariables>(
      this.url,
      'RefreshToken',
      { refreshToken },
    );
    this.accessToken = payload.accessToken;
    this.refreshToken = payload.refreshToken;
  }
}

/** A name to show; the schema's nullable fields stay nullable here. */
export function displayName(user: Pick<User, 'id' | 'email' | 'username' | 'firstName' | 'lastName'>): string {
  const full = [user.firstName, user.lastName].filter((part): part is string => Boolean(part)).join(' ');
  return full || user.username || user.email || user.id;
}
