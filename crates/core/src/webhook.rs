//! Inbound webhooks on a channel's URL: the event handed to the process,
//! sync or async, the process's answer turned into an HTTP response, CORS,
//! and Standard Webhooks signatures on what the gateway sends a process.

use crate::channel::Channel;
use serde_json::{Map, Value};

/// Event type of an inbound HTTP request (Bpium's name).
pub const EVENT_TYPE: &str = "$webRequest";
/// Content type of a process answer that sets none (Oktell Studio's rule).
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// An inbound request as the worker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound<'a> {
    pub method: &'a str,
    /// The full URL, with query.
    pub url: &'a str,
    /// Header names lowercased, in arrival order.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The caller's address (`CF-Connecting-IP`), when known.
    pub ip: Option<&'a str>,
    /// `http` or `https`.
    pub protocol: &'a str,
}

/// True when the caller waits for the process: the channel has
/// `opts.issync` and the URL's query has no `async=true`.
pub fn is_sync(_channel: &Channel, _url: &str) -> bool {
    todo!("helper: webhook::is_sync")
}

/// The event handed to the process:
/// `{event: {id, type: "$webRequest", async}, channel, method, url, path,
/// query, headers, cookies, body, body_encoding?, ip, protocol, __callback_url}`.
/// `channel` is [`crate::channel::public_view`].
pub fn event(
    _inbound: &Inbound<'_>,
    _channel: &Channel,
    _event_id: &str,
    _is_async: bool,
    _callback_url: &str,
) -> Value {
    todo!("helper: webhook::event")
}

/// The body as the event carries it: parsed JSON for JSON content types
/// (text when it does not parse), an object of fields for
/// `application/x-www-form-urlencoded`, text for other UTF-8, and base64 for
/// anything else, with `Some("base64")` as the encoding flag.
pub fn body_value(_content_type: Option<&str>, _body: &[u8]) -> (Value, Option<&'static str>) {
    todo!("helper: webhook::body_value")
}

/// `Cookie:` header → object of name → value.
pub fn cookies(_header: Option<&str>) -> Map<String, Value> {
    todo!("helper: webhook::cookies")
}

/// A URL's query → object; a repeated key gives an array of its values.
pub fn query(_url: &str) -> Map<String, Value> {
    todo!("helper: webhook::query")
}

/// What the caller of a sync webhook gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Names as the process gave them; `content-type` always present.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Turns the process's callback `{response_code, response_content,
/// response_headers}` into the HTTP answer: status default 200 (must be
/// 200..=599), body default empty (a string as is; other JSON serialised,
/// with `application/json` when no content type is set), headers an object
/// (or a JSON string of one) merged over the standard ones,
/// `content-type` defaulting to [`DEFAULT_CONTENT_TYPE`]. An invalid answer
/// is an `Err` with a message for a 502.
pub fn reply(_callback: &Value) -> Result<Reply, String> {
    todo!("helper: webhook::reply")
}

/// The `Access-Control-Allow-Origin` value for `origin` under the channel's
/// `opts.cors_origins` (`*` allows any origin), or None.
pub fn allowed_origin(_cors_origins: &[String], _origin: Option<&str>) -> Option<String> {
    todo!("helper: webhook::allowed_origin")
}

/// Headers of the answer to an `OPTIONS` preflight: allow-origin, the
/// requested method and headers, max-age, `Vary: Origin`; None when the
/// origin is not allowed (the answer then carries no CORS headers).
pub fn preflight(
    _cors_origins: &[String],
    _origin: Option<&str>,
    _request_method: Option<&str>,
    _request_headers: Option<&str>,
) -> Option<Vec<(String, String)>> {
    todo!("helper: webhook::preflight")
}

/// Standard Webhooks signature header value, `v1,<base64 HMAC-SHA256>` of
/// `{msg_id}.{timestamp}.{body}`. A `whsec_` secret is base64-decoded after
/// its prefix; any other secret is used as raw bytes.
pub fn standard_signature(_secret: &str, _msg_id: &str, _timestamp_s: u64, _body: &[u8]) -> String {
    todo!("helper: webhook::standard_signature")
}
