// Organizations through Apollo Client (API.md §10), as a B2B front end uses
// them: create one, invite a colleague by mail, accept from the mail sink's
// link, switch the active organization (jose verifies the org claims from
// the JWKS, as a resource server would), read the organization's products,
// and see a removal end the org token at once (401), the session living on.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { BASE, GRAPHQL_URL, check, signedInUser, waitForMails } from './lib.mjs';

const CREATE = gql`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) { id name slug viewerRole memberCount }
  }
`;
const INVITE = gql`
  mutation InviteMember($organizationId: ID!, $email: String!, $role: OrganizationRole!) {
    inviteMember(organizationId: $organizationId, email: $email, role: $role) { id email role expiresAt }
  }
`;
const PREVIEW = gql`
  query InvitationPreview($token: String!) {
    invitationPreview(token: $token) { organizationName organizationSlug email role }
  }
`;
const ACCEPT = gql`
  mutation AcceptInvitation($token: String!) {
    acceptInvitation(token: $token) { role createdAt user { id } }
  }
`;
const ACTIVATE = gql`
  mutation SetActiveOrganization($organizationId: ID) {
    setActiveOrganization(organizationId: $organizationId) {
      accessToken refreshToken activeOrganization { id slug viewerRole }
    }
  }
`;
const CREATE_PRODUCT = gql`
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) { id organizationId }
  }
`;
const PRODUCTS = gql`
  query OrgProducts($filter: ProductFilter) {
    products(first: 20, filter: $filter) { totalCount nodes { id name organizationId } }
  }
`;
const MEMBERS = gql`
  query Members($id: ID!) {
    organization(id: $id) { memberCount members { nodes { role email user { id } } } }
  }
`;
const REMOVE = gql`
  mutation RemoveMember($organizationId: ID!, $userId: ID!) {
    removeMember(organizationId: $organizationId, userId: $userId)
  }
`;
const REFRESH = gql`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken activeOrganization { id } }
  }
`;

function apollo(getToken) {
  const auth = new SetContextLink((prev) => {
    const token = getToken();
    return token ? { headers: { ...prev.headers, authorization: `Bearer ${token}` } } : {};
  });
  return new ApolloClient({
    link: auth.concat(new HttpLink({ uri: GRAPHQL_URL })),
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: 'network-only' } },
  });
}

/** The journey; answers what it did, for the step's line. */
export async function organizationsJourney() {
  const owner = await signedInUser('org-owner');
  const colleague = await signedInUser('org-colleague');
  const asOwner = apollo(() => owner.accessToken);
  const asColleague = apollo(() => colleague.accessToken);

  const org = (await asOwner.mutate({ mutation: CREATE, variables: { input: { name: 'Acme Robotics' } } }))
    .data.createOrganization;
  check(org.slug === 'acme-robotics' || org.slug.startsWith('acme-robotics-'), `slug ${org.slug}`);
  check(org.viewerRole === 'OWNER' && org.memberCount === 1, `created ${JSON.stringify(org)}`);

  const invitation = (
    await asOwner.mutate({ mutation: INVITE, variables: { organizationId: org.id, email: colleague.email, role: 'MEMBER' } })
  ).data.inviteMember;
  check(invitation.role === 'MEMBER', `invitation ${JSON.stringify(invitation)}`);
  // The activation mail came first; the invitation is the second.
  const mails = await waitForMails(colleague.email, 2);
  const link = mails[1].text.match(/\/invitations\/([A-Za-z0-9_-]+)/);
  check(link, `no invitation link in ${mails[1].text}`);
  const token = link[1];
  const preview = (await asColleague.query({ query: PREVIEW, variables: { token } })).data.invitationPreview;
  check(preview.organizationName === 'Acme Robotics' && preview.role === 'MEMBER', `preview ${JSON.stringify(preview)}`);
  const joined = (await asColleague.mutate({ mutation: ACCEPT, variables: { token } })).data.acceptInvitation;
  check(joined.role === 'MEMBER', `accepted ${JSON.stringify(joined)}`);

  // Switch: new tokens for the same session, claiming the organization.
  const active = (await asColleague.mutate({ mutation: ACTIVATE, variables: { organizationId: org.id } }))
    .data.setActiveOrganization;
  check(active.activeOrganization.id === org.id, `active ${JSON.stringify(active)}`);
  const keys = createRemoteJWKSet(new URL(`${BASE}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(active.accessToken, keys, { issuer: BASE, audience: 'authql' });
  check(payload.org_id === org.id && payload.org_role === 'member', `claims ${JSON.stringify(payload)}`);
  const colleagueInOrg = { accessToken: active.accessToken, refreshToken: active.refreshToken };
  const asColleagueInOrg = apollo(() => colleagueInOrg.accessToken);

  const ownerActive = (await asOwner.mutate({ mutation: ACTIVATE, variables: { organizationId: org.id } }))
    .data.setActiveOrganization;
  const asOwnerInOrg = apollo(() => ownerActive.accessToken);
  const product = (
    await asOwnerInOrg.mutate({ mutation: CREATE_PRODUCT, variables: { input: { name: 'Org-only gear', priceCents: 100 } } })
  ).data.createProduct;
  check(product.organizationId === org.id, `product ${JSON.stringify(product)}`);
  const seen = (await asColleagueInOrg.query({ query: PRODUCTS, variables: { filter: { organizationId: org.id } } })).data.products;
  check(seen.nodes.some((p) => p.id === product.id), `the member does not see it: ${JSON.stringify(seen)}`);
  const outside = (await apollo(() => undefined).query({ query: PRODUCTS, variables: {} })).data.products;
  check(!outside.nodes.some((p) => p.id === product.id), 'an anonymous listing shows an org product');
  const members = (await asOwner.query({ query: MEMBERS, variables: { id: org.id } })).data.organization;
  check(members.memberCount === 2 && members.members.nodes.every((m) => m.email), `members ${JSON.stringify(members)}`);

  // Removed: the org token is refused on its next request; the session lives on.
  await asOwner.mutate({ mutation: REMOVE, variables: { organizationId: org.id, userId: joined.user.id } });
  const resp = await fetch(GRAPHQL_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${colleagueInOrg.accessToken}` },
    body: JSON.stringify({ query: '{ me { id } }' }),
  });
  check(resp.status === 401, `after removal: HTTP ${resp.status}`);
  const refreshed = (await apollo(() => undefined).mutate({ mutation: REFRESH, variables: { refreshToken: colleagueInOrg.refreshToken } }))
    .data.refreshToken;
  check(refreshed.activeOrganization === null, `refreshed ${JSON.stringify(refreshed)}`);
  return 'organizations (create, invite by mail, accept, switch, jose-verified org claims, org products, removal → 401)';
}
