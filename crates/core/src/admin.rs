//! Authentication of the channel API: `Authorization: Bearer {ADMIN_TOKEN}`.

use subtle::ConstantTimeEq;

/// True when `header` is `Bearer <token>` with exactly `expected` (the
/// scheme is case-insensitive; the comparison of tokens is constant-time).
pub fn bearer_ok(header: Option<&str>, expected: &str) -> bool {
    let Some(h) = header.map(str::trim) else {
        return false;
    };
    let Some((scheme, token)) = h.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let token = token.trim();
    // ct_eq on slices of different length is false (and says only the length).
    bool::from(token.as_bytes().ct_eq(expected.as_bytes()))
}
