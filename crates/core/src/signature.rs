//! Corezoid API request signatures.
//!
//! `signature = hex(sha1(unixtime + secret + body + secret))`, a plain string
//! concatenation of the URL's time segment, the API key's secret and the raw
//! request body. Either letter case is accepted; comparison is constant-time.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Length in hex characters of a Corezoid signature (SHA-1: 20 bytes).
pub const SIGNATURE_HEX_LEN: usize = 40;

fn digest(unixtime: &str, secret: &str, body: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(unixtime.as_bytes());
    h.update(secret.as_bytes());
    h.update(body);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// The signature of `body` sent at `unixtime`, as lowercase hex.
pub fn sign(unixtime: &str, secret: &str, body: &[u8]) -> String {
    hex::encode(digest(unixtime, secret, body))
}

/// True when `signature` (hex, either case) is the signature of `body` at
/// `unixtime` under `secret`. The digest comparison is constant-time.
pub fn verify(signature: &str, unixtime: &str, secret: &str, body: &[u8]) -> bool {
    if signature.len() != SIGNATURE_HEX_LEN {
        return false;
    }
    let mut given = [0u8; 20];
    // `hex` accepts both cases.
    if hex::decode_to_slice(signature, &mut given).is_err() {
        return false;
    }
    let expected = digest(unixtime, secret, body);
    given.ct_eq(&expected).into()
}

/// Parses the URL's `unixtime` segment: decimal seconds, no sign, no spaces.
pub fn parse_unixtime(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// True when `unixtime` is within `max_skew_s` seconds of `now_s`, either side.
pub fn time_in_window(unixtime: i64, now_s: i64, max_skew_s: u64) -> bool {
    unixtime.abs_diff(now_s) <= max_skew_s
}
