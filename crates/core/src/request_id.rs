//! Request ids: unguessable, self-authenticating names of parked requests.
//!
//! Layout (44 bytes, written as 88 lowercase hex characters):
//!
//! | bytes  | field      | meaning                                                  |
//! |--------|------------|----------------------------------------------------------|
//! | 0..16  | random     | 128 bits from a CSPRNG                                   |
//! | 16..20 | expires_at | unix seconds (big-endian u32) after which the id is dead  |
//! | 20..28 | owner      | keyed tag of the API login that created it               |
//! | 28..44 | mac        | HMAC-SHA256 of bytes 0..28 under `CALLBACK_SECRET`, cut to 128 bits |
//!
//! The callback route checks the MAC and the expiry before it touches a
//! Durable Object, so forged, mangled or expired ids never create one. The
//! owner tag lets a later fetch of the result check that the login asking is
//! the one that created the request, without any stored state.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Random bytes in a request id (128 bits, from a CSPRNG).
pub const RANDOM_BYTES: usize = 16;
const OWNER_BYTES: usize = 8;
const MAC_BYTES: usize = 16;
const RAW_LEN: usize = RANDOM_BYTES + 4 + OWNER_BYTES + MAC_BYTES;
/// Length of a request id in characters.
pub const REQUEST_ID_LEN: usize = RAW_LEN * 2;

const MAC_DOMAIN: &[u8] = b"syncbridge/request-id/v1";
const OWNER_DOMAIN: &[u8] = b"syncbridge/owner/v1";

/// Why an id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not 88 hex characters, or its MAC does not verify.
    Invalid,
    /// Authentic, but past its expiry.
    Expired,
}

/// An id whose MAC verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedId {
    /// The canonical (lowercase) form: use it to name the Durable Object.
    pub canonical: String,
    /// Unix seconds after which the id stops taking callbacks.
    pub expires_at: u64,
    owner: [u8; OWNER_BYTES],
}

fn hmac(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length")
}

fn owner_tag(secret: &[u8], login: &str) -> [u8; OWNER_BYTES] {
    let mut m = hmac(secret);
    m.update(OWNER_DOMAIN);
    m.update(login.as_bytes());
    let full = m.finalize().into_bytes();
    let mut out = [0u8; OWNER_BYTES];
    out.copy_from_slice(&full[..OWNER_BYTES]);
    out
}

fn mac(secret: &[u8], body: &[u8]) -> [u8; MAC_BYTES] {
    let mut m = hmac(secret);
    m.update(MAC_DOMAIN);
    m.update(body);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; MAC_BYTES];
    out.copy_from_slice(&full[..MAC_BYTES]);
    out
}

/// Issues an id for a request of `login`, valid until `expires_at` (unix
/// seconds, saturated to u32). `random` must come from a CSPRNG.
pub fn issue(secret: &[u8], random: [u8; RANDOM_BYTES], expires_at: u64, login: &str) -> String {
    let mut raw = [0u8; RAW_LEN];
    raw[..16].copy_from_slice(&random);
    let exp = u32::try_from(expires_at).unwrap_or(u32::MAX);
    raw[16..20].copy_from_slice(&exp.to_be_bytes());
    raw[20..28].copy_from_slice(&owner_tag(secret, login));
    let tag = mac(secret, &raw[..28]);
    raw[28..].copy_from_slice(&tag);
    hex::encode(raw)
}

/// Checks an id's form and MAC, then its expiry: it is refused once `now_s`
/// is more than `grace_s` past `expires_at` (callbacks use no grace; fetching
/// a stored result may use `RESULT_TTL_S`).
pub fn verify(secret: &[u8], id: &str, now_s: u64, grace_s: u64) -> Result<VerifiedId, IdError> {
    if id.len() != REQUEST_ID_LEN {
        return Err(IdError::Invalid);
    }
    let mut raw = [0u8; RAW_LEN];
    hex::decode_to_slice(id, &mut raw).map_err(|_| IdError::Invalid)?;
    let expected = mac(secret, &raw[..28]);
    if !bool::from(raw[28..].ct_eq(&expected)) {
        return Err(IdError::Invalid);
    }
    let expires_at = u64::from(u32::from_be_bytes([raw[16], raw[17], raw[18], raw[19]]));
    if now_s > expires_at.saturating_add(grace_s) {
        return Err(IdError::Expired);
    }
    let mut owner = [0u8; OWNER_BYTES];
    owner.copy_from_slice(&raw[20..28]);
    Ok(VerifiedId {
        canonical: hex::encode(raw),
        expires_at,
        owner,
    })
}

impl VerifiedId {
    /// True when `login` is the login the id was issued to (constant-time).
    pub fn owned_by(&self, secret: &[u8], login: &str) -> bool {
        owner_tag(secret, login).ct_eq(&self.owner).into()
    }
}
