//! Base64 with the standard alphabet (RFC 4648 §4), the two forms the
//! gateway uses: padded encoding (a binary body or WebSocket frame, a
//! Standard Webhooks signature) and the lenient decoding of a `whsec_`
//! signing secret, where padding is optional. Written here rather than
//! taken from a general base64 crate, whose engines and configurations
//! weigh more in the wasm than these two functions.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in base64, padded with `=` to a multiple of four characters.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes of `text` in base64, its padding optional (`QQ`, `QQ=` and
/// `QQ==` all decode to `A`); `None` for anything else: a character outside
/// the alphabet, whitespace, padding other than at the end of the last
/// group of four, a last group of one character, or a last character whose
/// unused low bits are not zero (only one text encodes given bytes).
pub fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if b.is_empty() {
        return Some(Vec::new());
    }
    // The last group: the final one to four characters.
    let rem = b.len() % 4;
    let (body, last) = b.split_at(b.len() - if rem == 0 { 4 } else { rem });
    let symbols = last.iter().take_while(|&&c| c != b'=').count();
    if symbols < 2 || last[symbols..].iter().any(|&c| c != b'=') {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in body.iter().chain(&last[..symbols]) {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

/// A character's six bits; `None` outside the alphabet (`=` included).
fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}
