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
//!
//! Ids of each [`Purpose`] are MAC'd under a domain of their own (a tag that
//! opens the MAC's input), so an id issued for one purpose never verifies
//! for another: a WebSocket connection id is no request id, and a webhook's
//! request id cannot fetch a Sync API result. Sync API ids keep the domain
//! every id had before purposes were told apart, so ids issued by an older
//! gateway stay good across an upgrade.

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

const OWNER_DOMAIN: &[u8] = b"syncbridge/owner/v1";

/// What an id names, which decides the domain its MAC is computed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A Sync API create op's parked request (callback route, `show` op).
    SyncApi,
    /// A sync or async webhook's request, answered through the callback route.
    Webhook,
    /// An inbound WebSocket connection, answered through its reply route.
    Connection,
}

impl Purpose {
    /// The tag that opens the MAC's input.
    fn domain(self) -> &'static [u8] {
        match self {
            // The domain of every id before purposes were told apart.
            Purpose::SyncApi => b"syncbridge/request-id/v1",
            Purpose::Webhook => b"syncbridge/webhook-request-id/v1",
            Purpose::Connection => b"syncbridge/connection-id/v1",
        }
    }
}

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
    /// The purpose it was issued for.
    pub purpose: Purpose,
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

fn mac(secret: &[u8], purpose: Purpose, body: &[u8]) -> [u8; MAC_BYTES] {
    let mut m = hmac(secret);
    m.update(purpose.domain());
    m.update(body);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; MAC_BYTES];
    out.copy_from_slice(&full[..MAC_BYTES]);
    out
}

/// Issues a Sync API request id for `login` ([`issue_for`] with
/// [`Purpose::SyncApi`]).
pub fn issue(secret: &[u8], random: [u8; RANDOM_BYTES], expires_at: u64, login: &str) -> String {
    issue_for(secret, Purpose::SyncApi, random, expires_at, login)
}

/// Issues an id for `purpose`, owned by `owner` (a login, or what the
/// purpose ties the id to), valid until `expires_at` (unix seconds,
/// saturated to u32). `random` must come from a CSPRNG.
pub fn issue_for(
    secret: &[u8],
    purpose: Purpose,
    random: [u8; RANDOM_BYTES],
    expires_at: u64,
    owner: &str,
) -> String {
    let mut raw = [0u8; RAW_LEN];
    raw[..16].copy_from_slice(&random);
    let exp = u32::try_from(expires_at).unwrap_or(u32::MAX);
    raw[16..20].copy_from_slice(&exp.to_be_bytes());
    raw[20..28].copy_from_slice(&owner_tag(secret, owner));
    let tag = mac(secret, purpose, &raw[..28]);
    raw[28..].copy_from_slice(&tag);
    hex::encode(raw)
}

/// Checks a Sync API request id ([`verify_for`] with [`Purpose::SyncApi`] only).
pub fn verify(secret: &[u8], id: &str, now_s: u64, grace_s: u64) -> Result<VerifiedId, IdError> {
    verify_for(secret, &[Purpose::SyncApi], id, now_s, grace_s)
}

/// Checks an id's form and its MAC for one of `purposes`, then its expiry:
/// it is refused once `now_s` is more than `grace_s` past `expires_at`
/// (callbacks use no grace; fetching a stored result may use
/// `RESULT_TTL_S`). An id of another purpose is [`IdError::Invalid`], as a
/// forged one is.
pub fn verify_for(
    secret: &[u8],
    purposes: &[Purpose],
    id: &str,
    now_s: u64,
    grace_s: u64,
) -> Result<VerifiedId, IdError> {
    if id.len() != REQUEST_ID_LEN {
        return Err(IdError::Invalid);
    }
    let mut raw = [0u8; RAW_LEN];
    hex::decode_to_slice(id, &mut raw).map_err(|_| IdError::Invalid)?;
    let purpose = purposes
        .iter()
        .copied()
        .find(|p| bool::from(raw[28..].ct_eq(&mac(secret, *p, &raw[..28]))))
        .ok_or(IdError::Invalid)?;
    let expires_at = u64::from(u32::from_be_bytes([raw[16], raw[17], raw[18], raw[19]]));
    if now_s > expires_at.saturating_add(grace_s) {
        return Err(IdError::Expired);
    }
    let mut owner = [0u8; OWNER_BYTES];
    owner.copy_from_slice(&raw[20..28]);
    Ok(VerifiedId {
        canonical: hex::encode(raw),
        expires_at,
        purpose,
        owner,
    })
}

impl VerifiedId {
    /// True when `login` is the login the id was issued to (constant-time).
    pub fn owned_by(&self, secret: &[u8], login: &str) -> bool {
        owner_tag(secret, login).ct_eq(&self.owner).into()
    }
}
