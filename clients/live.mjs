// The Apollo Client journey's live part (API.md §8.6): a GraphQLWsLink over
// the `graphql-ws` library's client (the `ws` package as Node 20's
// WebSocket) subscribes to securityEvents, receives the event of a profile
// change made over HTTP, then another client logs the session out and the
// socket receives LOGGED_OUT and is closed with 4401.
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BASE, check, gqlData, signedInUser } from './lib.mjs';

const EVENTS = gql`
  subscription LiveSecurityEvents { securityEvents { type createdAt } }
`;

export async function liveJourney() {
  const user = await signedInUser('live');
  let closed;
  const socketClosed = new Promise((resolve) => { closed = resolve; });
  const ws = createClient({
    url: `${BASE.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${user.accessToken}` },
    retryAttempts: 0,
    on: { closed: (event) => closed(event) },
  });
  const apollo = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });

  const events = [];
  let arrived;
  let waiting = new Promise((resolve) => { arrived = resolve; });
  const subscription = apollo.subscribe({ query: EVENTS }).subscribe({
    next: (result) => {
      events.push(result.data.securityEvents.type);
      arrived();
      waiting = new Promise((resolve) => { arrived = resolve; });
    },
    error: () => {},
  });
  const within = (promise, ms, what) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
  // The subscription is live once the socket is acknowledged and the
  // server read it; a profile change may be retried until an event shows.
  for (let i = 0; events.length === 0 && i < 10; i++) {
    await gqlData(`mutation { updateProfile(input: {firstName: "Live ${i}"}) { id } }`, {}, { token: user.accessToken });
    await within(waiting, 1000, 'event').catch(() => {});
  }
  check(events[0] === 'PROFILE_UPDATED', `first event was ${events[0]}`);

  // Another client signs the session out: the socket hears why, then closes.
  const started = Date.now();
  await gqlData('mutation { logout }', {}, { token: user.accessToken });
  const event = await within(socketClosed, 3000, 'close');
  const took = Date.now() - started;
  check(event.code === 4401, `closed with ${event.code}, not 4401`);
  check(events.includes('LOGGED_OUT'), `events before the close: ${events.join(', ')}`);
  subscription.unsubscribe();
  await ws.dispose();
  return `GraphQLWsLink: event received, closed 4401 ${took} ms after logout`;
}
