//! Corezoid API request signatures.
//!
//! `signature = hex(sha1(unixtime + secret + body + secret))`, a plain string
//! concatenation of the URL's time segment, the API key's secret and the raw
//! request body. Either letter case is accepted; comparison is constant-time.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Length in hex characters of a Corezoid signature (SHA-1: 20 bytes).
pub const SIGNATURE_HEX_LEN: usize = 40;

/// SHA-1 of `unixtime + secret + body + secret`, fed in its four pieces
/// (no copy), for a body already read elsewhere ([`sign`], [`verify`]); the
/// Sync API reads its body into a [`Covered`] buffer instead and hashes that
/// in one piece. Measured against hashing one prebuilt buffer (bench/
/// loadgen's signature phase): the four pieces run at 0.93–0.95 of it,
/// feeding the crate's compression function block by block was slower
/// still, and copying the time and secret into one piece made no difference.
fn digest(unixtime: &str, secret: &str, body: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(unixtime.as_bytes());
    h.update(secret.as_bytes());
    h.update(body);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// The bytes a signature covers, `unixtime ‖ secret ‖ body ‖ secret`, laid
/// out in one buffer that the request body is read straight into: the body
/// is copied out of the runtime once in any case, so putting it between the
/// time and secret costs nothing, and the check then hashes one contiguous
/// buffer (the four pieces fed in turn run at 0.93–0.95 of that).
///
/// Built with [`Covered::new`], filled with [`Covered::extend_body`] or
/// [`Covered::body_tail`] (after [`Covered::reserve_body`] when the length is
/// known), closed with [`Covered::seal`]; the body is
/// [`Covered::body`] from then on.
#[derive(Debug, Clone)]
pub struct Covered {
    buf: Vec<u8>,
    /// Where the secret starts: the time's length.
    secret_start: usize,
    body_start: usize,
    /// Whether a secret was given (a known login's): with none, no
    /// signature verifies.
    keyed: bool,
    sealed: bool,
}

impl Covered {
    /// Starts the buffer with `unixtime` and `secret` (`None`: an unknown
    /// login, whose body is read all the same and no signature verifies),
    /// with room for a body of `body_capacity` bytes.
    pub fn new(unixtime: &str, secret: Option<&str>, body_capacity: usize) -> Self {
        let key = secret.unwrap_or_default().as_bytes();
        let mut buf = Vec::with_capacity(
            unixtime
                .len()
                .saturating_add(body_capacity)
                .saturating_add(2 * key.len()),
        );
        buf.extend_from_slice(unixtime.as_bytes());
        buf.extend_from_slice(key);
        Covered {
            secret_start: unixtime.len(),
            body_start: buf.len(),
            buf,
            keyed: secret.is_some(),
            sealed: false,
        }
    }

    /// Where the body ends: the buffer's end, or the closing secret's start.
    fn body_end(&self) -> usize {
        let closing = if self.sealed {
            self.body_start - self.secret_start
        } else {
            0
        };
        self.buf.len() - closing
    }

    /// Room for `len` more bytes of body and the closing secret.
    pub fn reserve_body(&mut self, len: usize) {
        let secret_len = self.body_start - self.secret_start;
        self.buf.reserve(len.saturating_add(secret_len));
    }

    /// Appends a chunk of the body.
    pub fn extend_body(&mut self, chunk: &[u8]) {
        assert!(!self.sealed, "the body is read before the seal");
        self.buf.extend_from_slice(chunk);
    }

    /// `len` more bytes of body, zeroed, for the caller to copy into.
    pub fn body_tail(&mut self, len: usize) -> &mut [u8] {
        assert!(!self.sealed, "the body is read before the seal");
        let from = self.buf.len();
        self.buf.resize(from + len, 0);
        &mut self.buf[from..]
    }

    /// Closes the buffer with the secret again, once the body is whole.
    pub fn seal(mut self) -> Self {
        if !self.sealed {
            self.buf
                .extend_from_within(self.secret_start..self.body_start);
            self.sealed = true;
        }
        self
    }

    /// The request body.
    pub fn body(&self) -> &[u8] {
        &self.buf[self.body_start..self.body_end()]
    }

    /// True when `signature` (hex, either case) signs these bytes: a secret
    /// was given, the buffer is sealed, and the digest of the whole buffer
    /// (one contiguous hash) equals the signature, compared in constant time.
    pub fn verify(&self, signature: &str) -> bool {
        if !self.keyed || !self.sealed {
            return false;
        }
        let Some(given) = decode_hex(signature) else {
            return false;
        };
        digests_equal(&given, &Sha1::digest(&self.buf).into())
    }
}

/// The signature of `body` sent at `unixtime`, as lowercase hex.
pub fn sign(unixtime: &str, secret: &str, body: &[u8]) -> String {
    hex::encode(digest(unixtime, secret, body))
}

/// True when `signature` (hex, either case) is the signature of `body` at
/// `unixtime` under `secret`. The digest comparison is constant-time.
pub fn verify(signature: &str, unixtime: &str, secret: &str, body: &[u8]) -> bool {
    let Some(given) = decode_hex(signature) else {
        return false;
    };
    digests_equal(&given, &digest(unixtime, secret, body))
}

/// The 20 bytes a 40-character hex signature (either case) spells, or
/// `None`. The given signature is the caller's own, so this need not be
/// constant-time; it is branch-free per character all the same, because the
/// check runs on every Sync API call (the `hex` crate's decoder took as long
/// as a third of the hashing of a 1 KB body).
fn decode_hex(signature: &str) -> Option<[u8; 20]> {
    let s: &[u8; SIGNATURE_HEX_LEN] = signature.as_bytes().try_into().ok()?;
    let mut out = [0u8; 20];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (hi, hi_bad) = nibble(pair[0]);
        let (lo, lo_bad) = nibble(pair[1]);
        *o = (hi << 4) | lo;
        bad |= hi_bad | lo_bad;
    }
    (bad == 0).then_some(out)
}

/// A hex digit's value, and 1 when `c` is not one (then the value is 0).
fn nibble(c: u8) -> (u8, u8) {
    let digit = c.wrapping_sub(b'0');
    let letter = (c | 0x20).wrapping_sub(b'a');
    let is_digit = u8::from(digit < 10);
    let is_letter = u8::from(letter < 6);
    // At most one of the two holds.
    let value = digit * is_digit + letter.wrapping_add(10) * is_letter;
    (value, 1 ^ (is_digit | is_letter))
}

/// Constant-time equality of two digests, compared as three words.
fn digests_equal(a: &[u8; 20], b: &[u8; 20]) -> bool {
    let word = |d: &[u8; 20], i: usize| u64::from_le_bytes(d[i..i + 8].try_into().unwrap());
    let tail = |d: &[u8; 20]| u32::from_le_bytes(d[16..20].try_into().unwrap());
    let same =
        word(a, 0).ct_eq(&word(b, 0)) & word(a, 8).ct_eq(&word(b, 8)) & tail(a).ct_eq(&tail(b));
    same.into()
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
