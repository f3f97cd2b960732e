//! The record kept of every inbound webhook request, and the paging of its list.

use crate::error::RestError;
use serde::Serialize;
use serde_json::Value;

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
    /// Sync answers: `{status, headers, body}` with the body cut to [`BODY_EXCERPT_BYTES`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
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

/// Reads `offset` and `limit` of a request-log listing.
pub fn parse_paging(pairs: &[(String, String)]) -> Result<(u64, u64), RestError> {
    let mut offset = 0;
    let mut limit = DEFAULT_PAGE;
    for (k, v) in pairs {
        let n = || {
            v.parse::<u64>()
                .map_err(|_| RestError::bad_request(format!("{k} must be a whole number")))
        };
        match k.as_str() {
            "offset" => {
                offset = n()?;
                // D1 binds numbers as doubles and SQLite's OFFSET is an i64:
                // refuse what cannot be bound exactly (the channel list does too).
                if offset > MAX_OFFSET {
                    return Err(RestError::bad_request(format!(
                        "offset is larger than {MAX_OFFSET}"
                    )));
                }
            }
            "limit" => limit = n()?.min(MAX_PAGE),
            other => {
                return Err(RestError::bad_request(format!(
                    "unknown parameter {other}; use offset and limit"
                )))
            }
        }
    }
    Ok((offset, limit))
}
