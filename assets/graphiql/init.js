// Bootstrap for the self-hosted GraphiQL playground. Kept out of index.html
// (and no inline <style>) so a strict CSP such as
// `default-src 'self'; script-src 'self'` works. Layout styles are set through
// the CSSOM, which CSP does not restrict.
(function () {
  'use strict';
  var html = document.documentElement;
  var body = document.body;
  var container = document.getElementById('graphiql');
  html.style.height = '100%';
  body.style.height = '100%';
  body.style.margin = '0';
  body.style.width = '100%';
  body.style.overflow = 'hidden';
  container.style.height = '100vh';

  // What a first visit shows: a walkthrough of signing in with an
  // authenticator app (API.md §8.4), one named operation per step.
  var walkthrough = [
    '# authql: an authenticator app walkthrough. Run each operation in turn',
    '# (pick it with the run button); variables go in the Variables pane.',
    '#',
    '# 1. Login: copy accessToken into Headers as',
    '#    {"Authorization": "Bearer <accessToken>"}',
    '# 2. BeginTotpEnrollment: scan qrCodeSvg (paste it into a file.svg and',
    '#    open it) or type `secret` into Google Authenticator, Aegis or 1Password.',
    '# 3. ConfirmTotpEnrollment with the app\'s 6 digits: keep the 10 recovery',
    '#    codes it answers somewhere safe; they are shown only once.',
    '# 4. Login again: it answers an OtpChallenge with method TOTP (no mail).',
    '#    VerifyOtp with its challengeId and the app\'s current code.',
    '# 5. Lost the phone? VerifyOtp takes a recovery code instead (once each).',
    '',
    'mutation Login($email: String!, $password: String!) {',
    '  login(input: { email: $email, password: $password }) {',
    '    __typename',
    '    ... on AuthPayload { accessToken refreshToken }',
    '    ... on OtpChallenge { challengeId method sentTo expiresAt }',
    '  }',
    '}',
    '',
    'mutation BeginTotpEnrollment {',
    '  beginTotpEnrollment { secret otpauthUri qrCodeSvg }',
    '}',
    '',
    'mutation ConfirmTotpEnrollment($code: String!) {',
    '  confirmTotpEnrollment(code: $code) { codes }',
    '}',
    '',
    'mutation VerifyOtp($challengeId: ID!, $code: String!) {',
    '  verifyOtp(challengeId: $challengeId, code: $code) { accessToken refreshToken }',
    '}',
    '',
    'query Me {',
    '  me { email twoFactorEnabled twoFactorMethods recoveryCodesLeft }',
    '}',
    '',
  ].join('\n');

  // Subscriptions over graphql-transport-ws on the same path; GraphiQL sends
  // the headers editor's values (Authorization) as connection_init's payload.
  var fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    subscriptionUrl: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql',
  });
  var root = ReactDOM.createRoot(container);
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: walkthrough,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: 'headers',
    })
  );
})();
