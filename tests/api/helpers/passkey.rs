//! A software authenticator for the passkey tests: an ES256 key made here,
//! `authenticatorData` and `clientDataJSON` built as the WebAuthn spec lays
//! them out (§6.1, §5.8.1), the attestation object ("none") and COSE key in
//! CBOR, and credentials in the JSON of `PublicKeyCredential.toJSON()`.
//! Its fields can be set wrong on purpose, as an attacker would.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:8080";

/// The settings that turn passkeys on for the tests.
pub const SETTINGS: [(&str, &str); 2] = [("WEBAUTHN_RP_ID", RP_ID), ("WEBAUTHN_ORIGINS", ORIGIN)];

pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// Written into `authenticatorData` as its SHA-256.
    pub rp_id: String,
    /// Written into `clientDataJSON`.
    pub origin: String,
    /// The sign counter; each assertion adds one first.
    pub counter: u32,
    /// The account id the registration gave (`user.id`).
    pub user_handle: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator {
            key: SigningKey::random(&mut rand_core::OsRng),
            credential_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            rp_id: RP_ID.into(),
            origin: ORIGIN.into(),
            counter: 0,
            user_handle: Vec::new(),
        }
    }
}

impl Authenticator {
    fn client_data(&self, kind: &str, challenge: &Value) -> String {
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
    }

    /// rpIdHash, flags (UP, UV, and AT when `attested`), signCount.
    fn auth_data_head(&self, attested: bool) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(0x01 | 0x04 | if attested { 0x40 } else { 0 });
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let map: BTreeMap<Cbor, Cbor> = [
            (Cbor::Integer(1), Cbor::Integer(2)),  // kty: EC2
            (Cbor::Integer(3), Cbor::Integer(-7)), // alg: ES256
            (Cbor::Integer(-1), Cbor::Integer(1)), // crv: P-256
            (Cbor::Integer(-2), Cbor::Bytes(point.x().unwrap().to_vec())),
            (Cbor::Integer(-3), Cbor::Bytes(point.y().unwrap().to_vec())),
        ]
        .into_iter()
        .collect();
        serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap()
    }

    /// The credential `navigator.credentials.create` would answer `options`.
    pub fn register(&mut self, options: &Value) -> Value {
        self.user_handle = B64
            .decode(options["user"]["id"].as_str().expect("user.id"))
            .unwrap();
        let client_data = self.client_data("webauthn.create", &options["challenge"]);
        let mut auth_data = self.auth_data_head(true);
        auth_data.extend_from_slice(&[0; 16]); // AAGUID
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let attestation: BTreeMap<Cbor, Cbor> = [
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]
        .into_iter()
        .collect();
        let attestation = serde_cbor_2::to_vec(&Cbor::Map(attestation)).unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }

    /// The assertion `navigator.credentials.get` would answer `options`.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", &options["challenge"]);
        let auth_data = self.auth_data_head(false);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}
