//! argon2id hashes as PHC strings (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`),
//! the form authql stores: written for new hashes, read (with bounds on
//! the parameters) to verify one.

use argon2::Params;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;

/// A parsed PHC string of the form `$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
pub struct Phc {
    pub params: Params,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

pub fn encode(params: &Params, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        B64.encode(salt),
        B64.encode(hash)
    )
}

pub fn decode(phc: &str) -> Option<Phc> {
    let mut parts = phc.split('$');
    if !(parts.next()?.is_empty() && parts.next()? == "argon2id" && parts.next()? == "v=19") {
        return None;
    }
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in parts.next()?.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    let salt = B64.decode(parts.next()?).ok()?;
    let hash = B64.decode(parts.next()?).ok()?;
    if parts.next().is_some() || hash.is_empty() {
        return None;
    }
    // Refuse absurd stored parameters rather than allocate whatever they ask.
    let (m, t, p) = (m?, t?, p?);
    if m > 65_536 || t > 16 || p > 8 {
        return None;
    }
    let params = Params::new(m, t, p, Some(hash.len())).ok()?;
    Some(Phc { params, salt, hash })
}
