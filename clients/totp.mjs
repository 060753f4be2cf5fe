// The Apollo Client journey's authenticator-app part (API.md §8.4): a fresh
// user enrols an app, as a phone would read it from the otpauth:// URI
// (otplib's own URI parser), confirms with a code otplib computes (an RFC
// 6238 implementation independent of the server's), signs in with the app's
// next code, then with a recovery code.
import { gql } from '@apollo/client';
import { parse } from '@otplib/uri';
import { generate } from 'otplib';
import { PASSWORD, check, signedInUser } from './lib.mjs';

const BEGIN = gql`
  mutation BeginTotpEnrollment { beginTotpEnrollment { secret otpauthUri qrCodeSvg } }
`;
const CONFIRM = gql`
  mutation ConfirmTotpEnrollment($code: String!) { confirmTotpEnrollment(code: $code) { codes } }
`;
const ME = gql`
  query MeTwoFactor { me { id twoFactorEnabled twoFactorMethods recoveryCodesLeft } }
`;
const LOGIN = gql`
  mutation LoginWithMethod($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on AuthPayload { accessToken }
      ... on OtpChallenge { challengeId sentTo method }
    }
  }
`;
const VERIFY = gql`
  mutation VerifyWithApp($challengeId: ID!, $code: String!) {
    verifyOtp(challengeId: $challengeId, code: $code) { accessToken user { email } }
  }
`;

/** The app's code `steps` time steps from now. */
function appCode(secret, steps) {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
}

/**
 * `anonymous`: an Apollo client without credentials; `withToken(get)`: one
 * that sends `Bearer get()`. Returns what it showed, for the journey's line.
 */
export async function totpJourney(anonymous, withToken) {
  const carol = await signedInUser('apollo-totp');
  const carolClient = withToken(() => carol.accessToken);

  const enrolment = (await carolClient.mutate({ mutation: BEGIN })).data.beginTotpEnrollment;
  const uri = parse(enrolment.otpauthUri);
  check(uri.type === 'totp' && uri.params.issuer === 'authql', `otpauth URI: ${enrolment.otpauthUri}`);
  check(uri.label === `authql:${carol.email}`, `otpauth label: ${uri.label}`);
  check(uri.params.secret === enrolment.secret, 'the URI holds another secret');
  check(enrolment.qrCodeSvg.includes('<svg'), 'qrCodeSvg is not SVG');
  const secret = uri.params.secret;

  const { codes } = (await carolClient.mutate({ mutation: CONFIRM, variables: { code: await appCode(secret, 0) } }))
    .data.confirmTotpEnrollment;
  check(codes.length === 10 && codes.every((c) => /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/.test(c)), `codes: ${codes}`);
  const me = (await carolClient.query({ query: ME })).data.me;
  check(me.twoFactorMethods.join() === 'TOTP' && me.recoveryCodesLeft === 10, `me: ${JSON.stringify(me)}`);

  const signIn = async (code) => {
    const { login } = (await anonymous.mutate({ mutation: LOGIN, variables: { input: { email: carol.email, password: PASSWORD } } }))
      .data;
    check(login.__typename === 'OtpChallenge' && login.method === 'TOTP' && login.sentTo === '', `login: ${JSON.stringify(login)}`);
    const { verifyOtp } = (await anonymous.mutate({ mutation: VERIFY, variables: { challengeId: login.challengeId, code } })).data;
    check(verifyOtp.user.email === carol.email, 'verifyOtp signed in someone else');
    return verifyOtp.accessToken;
  };
  // The confirming code's step is used up: the app's next one signs in.
  carol.accessToken = await signIn(await appCode(secret, 1));
  carol.accessToken = await signIn(codes[0].toUpperCase());
  const after = (await carolClient.query({ query: ME })).data.me;
  check(after.recoveryCodesLeft === 9, `a recovery code was not used up: ${JSON.stringify(after)}`);
  return 'TOTP enrol (otplib) → app code → recovery code';
}
