//! What the request log keeps of a request's payload, with its secrets
//! taken out: which header, query, form or JSON names are secret, and the
//! bounded excerpts of bodies and results.

use serde::Serialize;
use serde_json::{Map, Value};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Words that make a name secret when they are one of its segments (the
/// name lower-cased, split on `-`, `_` and `.`): `X-Api-Key`, `auth`,
/// `X-Hub-Signature-256`, `client_secret`.
const SECRET_SEGMENTS: &[&str] = &[
    "authorization",
    "auth",
    "key",
    "sig",
    "signature",
    "token",
    "secret",
    "password",
    "passwd",
    "pass",
    "pwd",
    "otp",
    "session",
    "cookie",
    "credential",
    "credentials",
    "private",
];

/// Parts that make a name secret wherever they appear, for names written
/// together (`accessToken`, `apikey`, `sessionid`).
const SECRET_PARTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "apikey",
    "accesskey",
    "privatekey",
    "session",
    "cookie",
    "credential",
];

/// Is a header, query parameter, form field or JSON key of this name a
/// secret? `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`,
/// `X-Api-Key`, `X-Auth-Token`, `X-Hub-Signature-256`, `webhook-signature`,
/// `access_token`, `accessToken`, `client_secret`, `password`, `key`, and
/// the like. Over-redacting an innocent name costs a value in the log;
/// under-redacting leaks a secret, so the rule errs on the side of hiding.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.split(['-', '_', '.', ' '])
        .any(|seg| SECRET_SEGMENTS.contains(&seg))
        || SECRET_PARTS.iter().any(|p| n.contains(p))
}

/// `text` with the channel's token replaced by `{token_local}`.
fn without_token(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "{token_local}")
    }
}

/// Headers as `[name, value]` pairs in their order, secret values replaced
/// by [`REDACTED`] and the channel token by `{token_local}` in the others.
pub fn headers(headers: &[(String, String)], token: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_name(k) {
                REDACTED.to_string()
            } else {
                without_token(v, token)
            };
            (k.clone(), v)
        })
        .collect()
}

/// A JSON value with the values of secret keys replaced by [`REDACTED`]
/// at any depth, and the channel token by `{token_local}` in strings.
pub fn json(value: &Value, token: &str) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) {
                        Value::String(REDACTED.into())
                    } else {
                        json(v, token)
                    };
                    (without_token(k, token), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| json(v, token)).collect()),
        Value::String(s) => Value::String(without_token(s, token)),
        other => other.clone(),
    }
}

/// A query (or form) object as [`crate::webhook::query`] makes it, redacted.
pub fn query(query: &Map<String, Value>, token: &str) -> Map<String, Value> {
    match json(&Value::Object(query.clone()), token) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A query string (or form body) with the values of secret names replaced
/// by [`REDACTED`] (percent-encoded as the rest), the rest as it came.
pub fn query_string(q: &str, token: &str) -> String {
    let parts: Vec<String> = q
        .split('&')
        .map(|piece| {
            let (raw_name, _) = piece.split_once('=').unwrap_or((piece, ""));
            let name: String = form_urlencoded::parse(raw_name.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            if is_secret_name(&name) && piece.contains('=') {
                format!("{raw_name}={}", "%5Bredacted%5D")
            } else {
                piece.to_string()
            }
        })
        .collect();
    without_token(&parts.join("&"), token)
}

/// A path and query for the log: the channel token replaced by
/// `{token_local}`, secret query values by [`REDACTED`].
pub fn path_and_query(path: &str, query: Option<&str>, token: &str) -> String {
    match query {
        Some(q) => format!("{}?{}", without_token(path, token), query_string(q, token)),
        None => without_token(path, token),
    }
}

/// A bounded excerpt of a body or a result, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excerpt {
    /// The first bytes kept, as text; base64 when [`Excerpt::encoding`] says so.
    pub text: String,
    /// `"base64"` for a body that is not UTF-8; absent for text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// The size of the whole body (after redaction, for JSON and forms), in bytes.
    pub bytes: usize,
    /// True when [`Excerpt::text`] holds less than the whole.
    pub truncated: bool,
}

/// At most `max` bytes of `bytes`, as text cut on a character boundary, or
/// base64 of the cut bytes when they are not UTF-8.
pub fn excerpt_of(bytes: &[u8], max: usize) -> Excerpt {
    let cut = &bytes[..bytes.len().min(max)];
    let (text, encoding) = match std::str::from_utf8(cut) {
        Ok(s) => (s.to_string(), None),
        // Cut inside a character: drop its first bytes.
        Err(e) if e.error_len().is_none() && std::str::from_utf8(bytes).is_ok() => (
            String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned(),
            None,
        ),
        Err(_) => (crate::b64::encode(cut), Some("base64")),
    };
    Excerpt {
        text,
        encoding,
        bytes: bytes.len(),
        truncated: cut.len() < bytes.len(),
    }
}

/// The excerpt of a request body the log keeps: JSON (by its content type)
/// with secret keys redacted, a form with secret fields redacted, other
/// text with the channel token replaced, anything else as base64; cut to
/// `max` bytes. `None` for an empty body.
pub fn body(content_type: Option<&str>, body: &[u8], token: &str, max: usize) -> Option<Excerpt> {
    if body.is_empty() {
        return None;
    }
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Ok(text) = std::str::from_utf8(body) else {
        return Some(excerpt_of(body, max));
    };
    let redacted = if mime == "application/json" || mime.ends_with("+json") {
        match serde_json::from_slice::<Value>(text.as_bytes()) {
            Ok(v) => json(&v, token).to_string(),
            Err(_) => without_token(text, token),
        }
    } else if mime == "application/x-www-form-urlencoded" {
        query_string(text, token)
    } else {
        without_token(text, token)
    };
    Some(excerpt_of(redacted.as_bytes(), max))
}

/// The excerpt of a process's result (a JSON object) the log keeps: secret
/// keys redacted, cut to `max` bytes of its JSON text.
pub fn result(data: &Value, max: usize) -> Excerpt {
    excerpt_of(json(data, "").to_string().as_bytes(), max)
}
