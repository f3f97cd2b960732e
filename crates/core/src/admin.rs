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

/// True when `header` carries the admin token; never when none is configured.
pub fn admin_ok(header: Option<&str>, admin_token: Option<&str>) -> bool {
    admin_token.is_some_and(|t| bearer_ok(header, t))
}

/// True when `header` carries the channel's process key
/// (`opts.callback.process_key`), which opens its send and publish routes;
/// never for a channel without one.
pub fn process_key_ok(header: Option<&str>, channel: Option<&crate::channel::Channel>) -> bool {
    channel
        .and_then(|c| c.opts.callback.as_ref())
        .is_some_and(|cb| !cb.process_key.is_empty() && bearer_ok(header, &cb.process_key))
}
