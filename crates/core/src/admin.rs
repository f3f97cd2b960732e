//! Authentication of the REST routes: `Authorization: Bearer {ADMIN_TOKEN}`,
//! or, on a channel's send and publish routes, the channel's process key.

use crate::channel::Channel;
use crate::error::RestError;
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
pub fn process_key_ok(header: Option<&str>, channel: Option<&Channel>) -> bool {
    channel
        .and_then(|c| c.opts.callback.as_ref())
        .is_some_and(|cb| !cb.process_key.is_empty() && bearer_ok(header, &cb.process_key))
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The admin token only: the channel API (`/rest/v1/service/integration_points`
    /// and `…/{id}`, `…/{id}/requests`) and the delivery log (`…/{id}/deliveries`,
    /// `…/deliveries/{delivery_id}`, `…/resend`). Closed (500) while
    /// `ADMIN_TOKEN` is unset.
    AdminOnly,
    /// The admin token or the channel's process key: `…/{id}/send`,
    /// `…/{id}/send/test` and `…/{id}/events`. Open to process keys while
    /// `ADMIN_TOKEN` is unset.
    AdminOrProcessKey,
}

/// Who was let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The bearer of `ADMIN_TOKEN`.
    Admin,
    /// The bearer of the channel's `opts.callback.process_key`.
    Process,
}

/// The authorisation decision of a REST route, the same for every route of
/// a `policy`: `auth_header` is the request's `Authorization`, `channel` the
/// channel the route names (only [`Policy::AdminOrProcessKey`] looks at it,
/// for its process key; `None` when there is no such channel).
///
/// - [`Policy::AdminOnly`]: `ADMIN_TOKEN` unset is a 500 ("setting
///   ADMIN_TOKEN is not set, so the channel API is closed") whatever the
///   header; the token is [`Caller::Admin`]; anything else is a 401.
/// - [`Policy::AdminOrProcessKey`]: the admin token is [`Caller::Admin`],
///   the channel's process key [`Caller::Process`]; anything else is a 401,
///   also while `ADMIN_TOKEN` is unset (the routes stay open to process keys).
///
/// The answer never depends on whether the channel exists unless the caller
/// is let in: a wrong key is a 401 for a missing channel too (process keys
/// live on channels), and an admin-only route need not look the channel up
/// before this check. A caller let in for a missing channel gets the
/// route's 404 afterwards.
pub fn authorize(
    auth_header: Option<&str>,
    admin_token: Option<&str>,
    channel: Option<&Channel>,
    policy: Policy,
) -> Result<Caller, RestError> {
    match policy {
        Policy::AdminOnly => {
            let Some(token) = admin_token else {
                return Err(RestError::admin_token_unset());
            };
            if bearer_ok(auth_header, token) {
                Ok(Caller::Admin)
            } else {
                Err(RestError::unauthorized())
            }
        }
        Policy::AdminOrProcessKey => {
            if admin_ok(auth_header, admin_token) {
                Ok(Caller::Admin)
            } else if process_key_ok(auth_header, channel) {
                Ok(Caller::Process)
            } else {
                Err(RestError::unauthorized())
            }
        }
    }
}
