//! Organizations through the public API (API.md §10): creating one,
//! inviting by mail and accepting, and switching the active organization.

use serde_json::{Value, json};

use super::{TestApp, TestUser, mail};

pub const CREATE: &str = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id name slug viewerRole memberCount } }";
pub const INVITE: &str = "mutation($o: ID!, $e: String!, $r: OrganizationRole) { inviteMember(organizationId: $o, email: $e, role: $r) { id organizationId email role } }";
pub const ACCEPT: &str =
    "mutation($t: String!) { acceptInvitation(token: $t) { role user { id } email } }";
pub const CHANGE: &str = "mutation($o: ID!, $u: ID!, $r: OrganizationRole!) { changeMemberRole(organizationId: $o, userId: $u, role: $r) { role user { id } } }";
pub const REMOVE: &str =
    "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }";
pub const LEAVE: &str = "mutation($o: ID!) { leaveOrganization(organizationId: $o) }";
pub const ACTIVATE: &str = "mutation($o: ID) { setActiveOrganization(organizationId: $o) { accessToken refreshToken activeOrganization { id viewerRole } } }";
pub const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken activeOrganization { id viewerRole } } }";
pub const ORG: &str =
    "query($id: ID!) { organization(id: $id) { id name slug viewerRole memberCount } }";

/// A new organization of `owner`: its id.
pub async fn create(app: &TestApp, owner: &TestUser, name: &str) -> String {
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            CREATE,
            json!({ "i": { "name": name } }),
        )
        .await;
    body["data"]["createOrganization"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

/// `inviteMember`'s whole answer.
pub async fn invite(app: &TestApp, by: &TestUser, org: &str, email: &str, role: &str) -> Value {
    let vars = json!({ "o": org, "e": email, "r": role });
    app.gql_as(Some(&by.bearer()), INVITE, vars).await.1
}

/// The token of the `n`th invitation mailed to `email` (1-based).
pub async fn token(app: &TestApp, email: &str, n: usize) -> String {
    let mails = mail::wait_for(&app.mail_dir, email, n).await;
    let text = &mails[n - 1].text;
    let at = text
        .find("/invitations/")
        .unwrap_or_else(|| panic!("no invitation link in {text}"))
        + "/invitations/".len();
    text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// A signed-in user who joined `org` with `role` by invitation.
pub async fn member(
    app: &TestApp,
    owner: &TestUser,
    org: &str,
    email: &str,
    role: &str,
) -> TestUser {
    let user = app.signed_in_user(email).await;
    let invited = invite(app, owner, org, email, role).await;
    assert!(invited["errors"].is_null(), "{invited}");
    // The activation mail came first.
    let token = token(app, email, 2).await;
    let (_, body) = app
        .gql_as(Some(&user.bearer()), ACCEPT, json!({ "t": token }))
        .await;
    assert_eq!(body["data"]["acceptInvitation"]["role"], role, "{body}");
    user
}

/// `user`'s session with `org` active (or none): its new tokens.
pub async fn activate(app: &TestApp, user: &TestUser, org: Option<&str>) -> TestUser {
    let (_, body) = app
        .gql_as(Some(&user.bearer()), ACTIVATE, json!({ "o": org }))
        .await;
    let payload = &body["data"]["setActiveOrganization"];
    TestUser {
        id: user.id.clone(),
        access_token: payload["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
        refresh_token: payload["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// The claims of an access token, unverified (the tests that care about
/// verification check against the JWKS).
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
