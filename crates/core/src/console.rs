//! The operator console's static files (`/console/…`): which request path
//! names which file, its content type, and the headers every answer of the
//! console carries. The files themselves are static assets (`build/public/
//! console/`, made by `scripts/build.sh`); the worker fetches them from its
//! `ASSETS` binding and answers with what this module decides. [`info`] is
//! what the console shows of the gateway itself.

use crate::Settings;

/// The console's Content-Security-Policy: nothing inline, nothing from
/// another origin, no framing, no `<base>`, no form posts; the API (same
/// origin) and its WebSockets are the only connections.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; \
frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Headers of every console answer (files, redirect, 404).
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// `Cache-Control` of a console file: always revalidated (the ETag makes
/// that cheap), so a deploy is seen at once.
pub const CACHE_CONTROL: &str = "no-cache";

/// Where `/console` (no trailing slash) is redirected.
pub const HOME: &str = "/console/";

/// Longest path below `/console/` that names a file, in bytes.
pub const MAX_PATH_BYTES: usize = 256;

/// Content types by file extension: only these are served.
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("woff2", "font/woff2"),
    ("txt", "text/plain; charset=utf-8"),
    ("webmanifest", "application/manifest+json"),
];

/// A console file a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Its path among the static assets, e.g. `/console/index.html`.
    pub path: String,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
}

/// The file that `rest` (the request path after `/console/`, as it came,
/// percent-encoded) names, or `None` (a 404). Empty is `index.html`. A name
/// is one or more segments of ASCII letters, digits, `.`, `_` and `-`, none
/// empty or starting with a dot (so no `..`, no hidden files, no
/// percent-escapes), ending in an extension of [`TYPES`].
pub fn asset(rest: &str) -> Option<Asset> {
    let rest = if rest.is_empty() { "index.html" } else { rest };
    if rest.len() > MAX_PATH_BYTES {
        return None;
    }
    let segment_ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if !rest.split('/').all(segment_ok) {
        return None;
    }
    let file = rest.rsplit('/').next().unwrap_or(rest);
    let (_, ext) = file.rsplit_once('.')?;
    let content_type = TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, t)| *t)?;
    Some(Asset {
        path: format!("/console/{rest}"),
        content_type,
    })
}

/// What the console shows of the gateway (`GET /rest/v1/service/info`,
/// admin only): the origin its URLs are formed from, the logins of the Sync
/// API (names only, never their keys), and the settings an operator works
/// within. `request_origin` is the origin the request came to, used as the
/// public origin only where the gateway itself would ([`Settings::public_base`]).
pub fn info(settings: &Settings, request_origin: &str) -> serde_json::Value {
    // In name order: the map keeps them so.
    let logins: Vec<&str> = settings.api_keys.keys().map(String::as_str).collect();
    serde_json::json!({
        "public_url": settings.public_base(request_origin).ok(),
        "logins": logins,
        "settings": {
            "SYNC_DEFAULT_TIMEOUT_S": settings.sync_default_timeout_s,
            "SYNC_MAX_TIMEOUT_S": settings.sync_max_timeout_s,
            "SIGNATURE_MAX_SKEW_S": settings.signature_max_skew_s,
            "SIGNATURE_REPLAY_PROTECTION": settings.signature_replay_protection,
            "RESULT_TTL_S": settings.result_ttl_s,
            "MAX_BODY_BYTES": settings.max_body_bytes,
            "MAX_OPS": settings.max_ops,
            "WEBHOOK_MAX_WAIT_S": settings.webhook_max_wait_s,
            "REQUEST_LOG_TTL_S": settings.request_log_ttl_s,
            "REQUEST_LOG_BODY_BYTES": settings.request_log_body_bytes,
            "CALLBACK_TIMEOUT_S": settings.callback_timeout_s,
            "CALLBACK_MAX_BYTES": settings.callback_max_bytes,
            "EVENT_MAX_BYTES": settings.event_max_bytes,
        },
    })
}
