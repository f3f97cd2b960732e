//! The record kept of every inbound webhook request, and the paging of its list.
//!
//! A record has two parts: the summary the list shows ([`Entry`] as it
//! serialises), and the payload only the detail route shows (the request's
//! query, headers and body excerpt, [`RequestPayload`]), kept apart so the
//! list stays small. An async run's result, when the process reports one,
//! is kept beside the record under [`result_key`] of its request id.
//! [`redact`] decides what of a payload is secret.

pub mod redact;

use crate::error::RestError;
use redact::Excerpt;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Default page of `GET …/{id}/requests` (and of `…/deliveries`).
pub const DEFAULT_PAGE: u64 = 50;
/// Largest page of `GET …/{id}/requests`; a larger `limit` is capped to it.
pub const MAX_PAGE: u64 = 500;
/// Longest excerpt of a response body kept in a record, in bytes.
pub const BODY_EXCERPT_BYTES: usize = 1024;
/// Largest `offset` of every listing (requests, deliveries, channels):
/// JavaScript's `Number.MAX_SAFE_INTEGER`, since D1 binds it as a number.
pub const MAX_OFFSET: u64 = (1 << 53) - 1;

/// How the caller was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The caller waited for the process's answer.
    Sync,
    /// The caller was answered at once.
    Async,
}

/// What became of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Sync: the process answered and its answer was sent.
    Answered,
    /// Async: the process took the event.
    Accepted,
    /// Sync: the wait ran out.
    TimedOut,
    /// The process could not be reached, refused the event, or answered badly.
    Failed,
    /// The channel names no process.
    NoProcess,
}

impl Outcome {
    /// Its name, as the record's JSON and its `outcome` column hold it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Accepted => "accepted",
            Outcome::TimedOut => "timed_out",
            Outcome::Failed => "failed",
            Outcome::NoProcess => "no_process",
        }
    }
}

/// The record of one inbound webhook request, as stored and listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The event id (a UUID), also the `webhook-id` sent to the process.
    pub id: String,
    /// The channel called.
    pub channel_id: String,
    /// ISO-8601 UTC.
    pub received_at: String,
    /// The HTTP method.
    pub method: String,
    /// Path and query, as requested.
    pub url: String,
    /// The caller's address (`CF-Connecting-IP`), when known.
    pub ip: Option<String>,
    /// Sync or async.
    pub mode: Mode,
    /// The HTTP status the caller got.
    pub status: u16,
    /// From arrival to the answer, in milliseconds (async: to the process's acceptance).
    pub duration_ms: u64,
    /// What became of it.
    pub outcome: Outcome,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer the caller got: `{status, headers, body}` with the body
    /// cut to [`BODY_EXCERPT_BYTES`] (see [`Entry::finish`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// The request's query, headers and body: shown by the detail route only.
    #[serde(skip)]
    pub request: Option<RequestPayload>,
    /// Async runs: where the process's result is kept ([`result_key`]); never shown.
    #[serde(skip)]
    pub result_key: Option<String>,
}

/// What the log keeps of a request's payload, redacted ([`redact`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestPayload {
    /// The query as an object (a repeated name gives an array).
    pub query: Map<String, Value>,
    /// The headers as `[name, value]` pairs, in order.
    pub headers: Vec<(String, String)>,
    /// The body's excerpt; `null` when there was none.
    pub body: Option<Excerpt>,
}

impl RequestPayload {
    /// The payload of a request: `query` as [`crate::webhook::query`] reads
    /// it, its headers and its body, each redacted ([`redact`]), the body
    /// cut to `max_body` bytes (`REQUEST_LOG_BODY_BYTES`). `token` is the
    /// channel's, replaced wherever it appears.
    pub fn new(
        query: &Map<String, Value>,
        headers: &[(String, String)],
        body: &[u8],
        token: &str,
        max_body: usize,
    ) -> RequestPayload {
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        RequestPayload {
            query: redact::query(query, token),
            headers: redact::headers(headers, token),
            body: redact::body(content_type, body, token, max_body),
        }
    }
}

impl Entry {
    /// Completes the record of the answer once it is known: an answer the
    /// process gave keeps its status, headers (secret ones redacted) and
    /// body excerpt (a whole JSON body with its secret keys redacted);
    /// otherwise the gateway's own answer is noted: for a
    /// status of 400 or more its JSON error (`{"error_code",
    /// "error_message"}` of [`Entry::error`]), else an empty body (async).
    /// `token` (the channel's) is replaced by `{token_local}` wherever it
    /// appears in the answer (a process may echo its URL).
    pub fn finish(&mut self, token: &str) {
        match &mut self.response {
            Some(r) => {
                // A whole JSON body has its secret keys redacted too.
                let redacted_body = r
                    .get("body")
                    .and_then(Value::as_str)
                    .and_then(|b| serde_json::from_slice::<Value>(b.as_bytes()).ok())
                    .filter(|v| v.is_object() || v.is_array())
                    .map(|v| redact::json(&v, token).to_string())
                    .or_else(|| {
                        let b = r.get("body").and_then(Value::as_str)?;
                        (!token.is_empty() && b.contains(token))
                            .then(|| b.replace(token, "{token_local}"))
                    });
                if let Some(b) = redacted_body {
                    r["body"] = Value::String(b);
                }
                if let Some(hs) = r.get_mut("headers").and_then(Value::as_array_mut) {
                    for pair in hs.iter_mut() {
                        let secret = pair
                            .get(0)
                            .and_then(Value::as_str)
                            .is_some_and(redact::is_secret_name);
                        if let Some(v) = pair.get_mut(1) {
                            if secret {
                                *v = Value::String(redact::REDACTED.into());
                            } else if let Some(text) = v
                                .as_str()
                                .filter(|t| !token.is_empty() && t.contains(token))
                            {
                                *v = Value::String(text.replace(token, "{token_local}"));
                            }
                        }
                    }
                }
            }
            None => {
                let (headers, body) = match &self.error {
                    Some(e) if self.status >= 400 => (
                        json!([["content-type", "application/json"]]),
                        RestError::new(self.status, e.clone()).to_json().to_string(),
                    ),
                    _ => (json!([]), String::new()),
                };
                self.response =
                    Some(json!({"status": self.status, "headers": headers, "body": body}));
            }
        }
    }

    /// The two documents stored: the summary the list shows, and the
    /// payload (`{"request": …}`) only the detail shows.
    pub fn documents(&self) -> (Value, Value) {
        let summary = serde_json::to_value(self).unwrap_or(Value::Null);
        (summary, json!({ "request": self.request }))
    }
}

/// The whole record, as `GET …/requests/{request_id}` answers it: the
/// summary, its `request` (query, headers, body; `null` for records kept
/// before payloads were), and `result`: an async run's result when the
/// process reported one (`{received_at, body}`), else `null`.
pub fn detail(summary: Value, payload: Option<Value>, result: Option<Value>) -> Value {
    let mut out = match summary {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let request = payload
        .and_then(|mut p| p.get_mut("request").map(Value::take))
        .unwrap_or(Value::Null);
    out.insert("request".into(), request);
    out.insert("result".into(), result.unwrap_or(Value::Null));
    Value::Object(out)
}

/// The key an async run's result is kept under, from the request id its
/// callback URL carries: a hash, so that the stored key opens nothing.
pub fn result_key(request_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"syncbridge/request-log-result/v1");
    h.update(request_id.to_ascii_lowercase().as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The record of a process's result: when it came and its excerpt (secret
/// keys redacted, cut to `max` bytes of its JSON, `REQUEST_LOG_BODY_BYTES`).
pub fn result_record(data: &Value, received_at: &str, max: usize) -> Value {
    json!({"received_at": received_at, "body": redact::result(data, max)})
}

/// `path_and_query` with the channel's token replaced by `{token_local}`, so
/// the record never shows the secret part of the channel's URL.
pub fn redact(path_and_query: &str, token: &str) -> String {
    if token.is_empty() {
        return path_and_query.to_string();
    }
    path_and_query.replace(token, "{token_local}")
}

/// A body excerpt for a record: text when UTF-8 (cut on a character boundary).
pub fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(BODY_EXCERPT_BYTES)];
    match std::str::from_utf8(cut) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned()
        }
        Err(_) => format!("<{} bytes of binary>", body.len()),
    }
}

/// A listing's query: its page, and the filters it was given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// Rows to skip.
    pub offset: u64,
    /// Most rows to return.
    pub limit: u64,
    /// Filter name → the values it takes, each one of the filter's own.
    pub filters: Vec<(&'static str, Vec<&'static str>)>,
}

impl Listing {
    /// The values a filter was given, as one text `,a,b,` (for a fixed SQL
    /// statement's `instr(?, ',' || column || ',')`), or `None` when it was not.
    pub fn bound(&self, name: &str) -> Option<String> {
        self.filters
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, vs)| format!(",{},", vs.join(",")))
    }
}

/// The filters of `GET …/{id}/requests`.
pub const REQUEST_FILTERS: &[(&str, &[&str])] = &[
    (
        "outcome",
        &["answered", "accepted", "timed_out", "failed", "no_process"],
    ),
    ("mode", &["sync", "async"]),
];

/// The filters of `GET …/{id}/deliveries`.
pub const DELIVERY_FILTERS: &[(&str, &[&str])] =
    &[("state", &["pending", "delivered", "failed", "dead"])];

/// Reads a listing's `offset`, `limit` and the `filters` it takes: each a
/// name whose value is one or more of its values, comma-separated
/// (`state=dead,failed`). Anything else is a 400 that names it.
pub fn parse_listing(
    pairs: &[(String, String)],
    filters: &[(&'static str, &'static [&'static str])],
) -> Result<Listing, RestError> {
    let mut listing = Listing {
        limit: DEFAULT_PAGE,
        ..Listing::default()
    };
    for (k, v) in pairs {
        let n = || {
            v.parse::<u64>()
                .map_err(|_| RestError::bad_request(format!("{k} must be a whole number")))
        };
        match k.as_str() {
            "offset" => {
                listing.offset = n()?;
                // D1 binds numbers as doubles and SQLite's OFFSET is an i64:
                // refuse what cannot be bound exactly (the channel list does too).
                if listing.offset > MAX_OFFSET {
                    return Err(RestError::bad_request(format!(
                        "offset is larger than {MAX_OFFSET}"
                    )));
                }
            }
            "limit" => listing.limit = n()?.min(MAX_PAGE),
            other => {
                let Some((name, allowed)) = filters.iter().find(|(f, _)| *f == other) else {
                    let names: Vec<&str> = ["offset", "limit"]
                        .into_iter()
                        .chain(filters.iter().map(|(f, _)| *f))
                        .collect();
                    return Err(RestError::bad_request(format!(
                        "unknown parameter {other}; use {}",
                        names.join(", ")
                    )));
                };
                let mut values = Vec::new();
                for piece in v.split(',').map(str::trim) {
                    let Some(known) = allowed.iter().find(|a| **a == piece) else {
                        return Err(RestError::bad_request(format!(
                            "{name} must be one or more of {}, comma-separated",
                            allowed.join(", ")
                        )));
                    };
                    if !values.contains(known) {
                        values.push(*known);
                    }
                }
                listing.filters.retain(|(f, _)| f != name);
                listing.filters.push((*name, values));
            }
        }
    }
    Ok(listing)
}

/// Reads `offset` and `limit` of a listing that takes no filters.
pub fn parse_paging(pairs: &[(String, String)]) -> Result<(u64, u64), RestError> {
    parse_listing(pairs, &[]).map(|l| (l.offset, l.limit))
}
