//! Inbound webhooks on a channel's URL: the event handed to the process,
//! sync or async, the process's answer turned into an HTTP response, CORS,
//! and Standard Webhooks signatures on what the gateway sends a process.

use crate::channel::Channel;
use crate::engine::EngineReply;
use crate::error::RestError;
use crate::request_log::Outcome;
use crate::sync_api::OpOutcome;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// Event type of an inbound HTTP request (Bpium's name).
pub const EVENT_TYPE: &str = "$webRequest";
/// Content type of a process answer that sets none (Oktell Studio's rule).
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// `Access-Control-Allow-Methods` of a preflight that names no method.
const DEFAULT_ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// `Access-Control-Max-Age` of a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_S: &str = "600";

/// Headers the runtime owns (framing and connection management): a
/// process's answer that sets them has them dropped, silently.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// An inbound request as the worker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound<'a> {
    /// The HTTP method, as sent.
    pub method: &'a str,
    /// The full URL, with query.
    pub url: &'a str,
    /// Header names lowercased, in arrival order.
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
    /// The caller's address (`CF-Connecting-IP`), when known.
    pub ip: Option<&'a str>,
    /// `http` or `https`.
    pub protocol: &'a str,
}

/// True when the caller waits for the process: the channel has
/// `opts.issync` and the URL's query has no `async=true`.
///
/// `async` is read with any letter case of `true`, or `1`; any such value
/// among repeated `async` keys makes the call async.
pub fn is_sync(channel: &Channel, url: &str) -> bool {
    channel.opts.issync
        && !form_urlencoded::parse(split_url(url).1.as_bytes())
            .any(|(k, v)| k == "async" && (v.eq_ignore_ascii_case("true") || v == "1"))
}

/// The event handed to the process:
/// `{event: {id, type: "$webRequest", async}, channel, method, url, path,
/// query, headers, cookies, body, body_encoding?, ip, protocol, __callback_url}`.
/// `channel` is [`crate::channel::public_view`].
///
/// `path` is the URL's path as sent (not percent-decoded). In `headers` a
/// repeated header's values are joined with `", "` (`"; "` for `cookie`, as
/// HTTP/2 splits it); `cookies` reads every `cookie` header. `body_encoding`
/// is present only when the body is base64 (see [`body_value`]).
pub fn event(
    inbound: &Inbound<'_>,
    channel: &Channel,
    event_id: &str,
    is_async: bool,
    callback_url: &str,
) -> Value {
    let mut headers = Map::new();
    for (name, value) in inbound.headers {
        let name = name.to_ascii_lowercase();
        let sep = if name == "cookie" { "; " } else { ", " };
        match headers.get_mut(&name) {
            Some(Value::String(joined)) => {
                joined.push_str(sep);
                joined.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    let header = |name: &str| headers.get(name).and_then(Value::as_str);
    let (body, encoding) = body_value(header("content-type"), inbound.body);
    let cookies = cookies(header("cookie"));

    let mut ev = Map::new();
    ev.insert("id".into(), event_id.into());
    ev.insert("type".into(), EVENT_TYPE.into());
    ev.insert("async".into(), is_async.into());

    let mut out = Map::new();
    out.insert("event".into(), Value::Object(ev));
    out.insert("channel".into(), crate::channel::public_view(channel));
    out.insert("method".into(), inbound.method.into());
    out.insert("url".into(), inbound.url.into());
    out.insert("path".into(), split_url(inbound.url).0.into());
    out.insert("query".into(), Value::Object(query(inbound.url)));
    out.insert("cookies".into(), Value::Object(cookies));
    out.insert("headers".into(), Value::Object(headers));
    out.insert("body".into(), body);
    if let Some(enc) = encoding {
        out.insert("body_encoding".into(), enc.into());
    }
    out.insert("ip".into(), inbound.ip.map_or(Value::Null, Value::from));
    out.insert("protocol".into(), inbound.protocol.into());
    out.insert("__callback_url".into(), callback_url.into());
    Value::Object(out)
}

/// The body as the event carries it: parsed JSON for JSON content types
/// (text when it does not parse), an object of fields for
/// `application/x-www-form-urlencoded`, text for other UTF-8, and base64 for
/// anything else, with `Some("base64")` as the encoding flag.
///
/// An empty body is `null` whatever the content type. Content types match
/// case-insensitively, parameters ignored; JSON is `application/json` or any
/// `+json` type. Form fields are parsed like [`query`] (a percent-encoded
/// byte sequence that is not UTF-8 becomes U+FFFD). A body that is not UTF-8
/// is always base64, even under a text or JSON content type.
pub fn body_value(content_type: Option<&str>, body: &[u8]) -> (Value, Option<&'static str>) {
    if body.is_empty() {
        return (Value::Null, None);
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return (Value::String(crate::b64::encode(body)), Some("base64"));
    };
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        if let Ok(v) = serde_json::from_slice(text.as_bytes()) {
            return (v, None);
        }
    } else if mime == "application/x-www-form-urlencoded" {
        return (Value::Object(pairs_to_object(body)), None);
    }
    (Value::String(text.to_owned()), None)
}

/// `Cookie:` header → object of name → value.
///
/// Pairs are split on `;`; a piece without `=` or whose name is not an HTTP
/// token is skipped. Values are trimmed and unquoted, not percent-decoded.
/// On a repeated name the first wins (browsers send the most specific cookie
/// first; Node's `cookie` parser does the same).
pub fn cookies(header: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    for piece in header.unwrap_or("").split(';') {
        let Some((name, value)) = piece.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if !is_token(name) || out.contains_key(name) {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        out.insert(name.to_owned(), value.into());
    }
    out
}

/// A URL's query → object; a repeated key gives an array of its values.
///
/// Form decoding (`+` is a space, percent-escapes decoded); the fragment is
/// ignored; a key without `=` has the value `""`; empty pieces (`a=1&&b=2`)
/// are skipped. Keys are taken literally (`a[]` is the key `a[]`).
pub fn query(url: &str) -> Map<String, Value> {
    pairs_to_object(split_url(url).1.as_bytes())
}

/// What the caller of a sync webhook gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status (200..=599).
    pub status: u16,
    /// Names as the process gave them; `content-type` always present.
    pub headers: Vec<(String, String)>,
    /// The body (empty for 204, 205 and 304).
    pub body: Vec<u8>,
}

/// Why a process's answer to a sync webhook cannot be sent to the caller
/// (a 502). The `Display` text is the reason the caller and the request log
/// see, after "The process's answer is invalid: ".
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    /// The callback body is not a JSON object.
    NotAnObject,
    /// `response_code` is neither an integer nor a string of digits (the value given).
    CodeNotInteger(Value),
    /// `response_code` is outside 200..=599 (the value given).
    CodeOutOfRange(Value),
    /// A non-empty `response_content` with 204, 205 or 304 (the status).
    BodyNotAllowed(u16),
    /// `response_headers` is a string that is not a JSON object.
    HeadersStringNotObject,
    /// `response_headers` is neither an object nor a string of one.
    HeadersNotObject,
    /// A header name that is not an HTTP token (the name).
    HeaderName(String),
    /// A header value that is an object, or an array inside an array (the header's name).
    HeaderValueType(String),
    /// A header value with characters a header cannot carry (the header's name).
    HeaderValue(String),
    /// `content-type` given more than once.
    ContentTypeTwice,
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::NotAnObject => f.write_str("the process's answer is not a JSON object"),
            ReplyError::CodeNotInteger(got) => write!(
                f,
                "the process's response_code must be an integer, got {got}"
            ),
            ReplyError::CodeOutOfRange(got) => write!(
                f,
                "the process's response_code must be an integer from 200 to 599, got {got}"
            ),
            ReplyError::BodyNotAllowed(status) => write!(
                f,
                "the process's response_code {status} cannot carry a body, but response_content \
                 is not empty"
            ),
            ReplyError::HeadersStringNotObject => {
                f.write_str("the process's response_headers is a string but not a JSON object")
            }
            ReplyError::HeadersNotObject => {
                f.write_str("the process's response_headers must be an object")
            }
            ReplyError::HeaderName(name) => write!(
                f,
                "the process's response_headers has an invalid header name {name:?}"
            ),
            ReplyError::HeaderValueType(name) => write!(
                f,
                "the process's response_headers value of {name:?} must be a string, number or \
                 boolean"
            ),
            ReplyError::HeaderValue(name) => write!(
                f,
                "the process's response_headers value of {name:?} has characters not allowed in \
                 a header"
            ),
            ReplyError::ContentTypeTwice => {
                f.write_str("the process's response_headers sets content-type more than once")
            }
        }
    }
}

/// Turns the process's callback `{response_code, response_content,
/// response_headers}` into the HTTP answer: status default 200 (must be
/// 200..=599), body default empty (a string as is; other JSON serialised,
/// with `application/json` when no content type is set), headers an object
/// (or a JSON string of one) merged over the standard ones,
/// `content-type` defaulting to [`DEFAULT_CONTENT_TYPE`]. An invalid answer
/// is a [`ReplyError`], for a 502.
///
/// Details:
/// - `response_code`: an integer or a string of digits; absent, `null` or
///   `""` is 200. 204, 205 and 304 cannot carry a body: a non-empty
///   `response_content` with them is an `Err` (the worker must then send a
///   null body).
/// - `response_headers`: values may be strings, numbers or booleans; an
///   array gives one header per element (for `set-cookie`: the worker must
///   *append* headers, not set them); a `null` value is skipped. Names must
///   be HTTP tokens and values visible ASCII, space or tab (leading and
///   trailing whitespace trimmed): anything else, CR and LF included, is an
///   `Err`, so header injection is impossible. Hop-by-hop and framing headers
///   (`content-length`, `transfer-encoding`, `connection`, `keep-alive`,
///   `upgrade`, `te`, `trailer`, `proxy-connection`) are dropped silently:
///   the runtime owns them.
/// - `content-type` is present exactly once: an empty one counts as unset,
///   and more than one (`Content-Type` and `content-type`, or an array) is an
///   `Err`.
/// - Other keys of the callback are ignored.
pub fn reply(callback: &Value) -> Result<Reply, ReplyError> {
    let Value::Object(cb) = callback else {
        return Err(ReplyError::NotAnObject);
    };

    let status = match cb.get("response_code") {
        None | Some(Value::Null) => 200,
        Some(Value::String(s)) if s.is_empty() => 200,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) if s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().unwrap_or(0)
        }
        Some(other) => return Err(ReplyError::CodeNotInteger(other.clone())),
    };
    if !(200..=599).contains(&status) {
        return Err(ReplyError::CodeOutOfRange(cb["response_code"].clone()));
    }
    let status = status as u16;

    let (body, json_body) = match cb.get("response_content") {
        None | Some(Value::Null) => (Vec::new(), false),
        Some(Value::String(s)) => (s.as_bytes().to_vec(), false),
        Some(other) => (other.to_string().into_bytes(), true),
    };
    if matches!(status, 204 | 205 | 304) && !body.is_empty() {
        return Err(ReplyError::BodyNotAllowed(status));
    }

    let given = match cb.get("response_headers") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
        Some(Value::String(s)) => match serde_json::from_slice(s.as_bytes()) {
            Ok(Value::Object(m)) => m,
            _ => return Err(ReplyError::HeadersStringNotObject),
        },
        Some(_) => return Err(ReplyError::HeadersNotObject),
    };

    let mut headers = Vec::new();
    let mut content_type = None;
    for (name, value) in &given {
        if !is_token(name) {
            return Err(ReplyError::HeaderName(name.clone()));
        }
        let lower = name.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) {
            continue;
        }
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        for v in values {
            let v = match v {
                Value::Null => continue,
                Value::String(s) => s.trim_matches([' ', '\t']).to_owned(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => return Err(ReplyError::HeaderValueType(name.clone())),
            };
            if !v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
                return Err(ReplyError::HeaderValue(name.clone()));
            }
            if lower == "content-type" {
                if v.is_empty() {
                    continue;
                }
                if content_type.is_some() {
                    return Err(ReplyError::ContentTypeTwice);
                }
                content_type = Some(headers.len());
            }
            headers.push((name.clone(), v));
        }
    }
    if content_type.is_none() {
        let ct = if json_body {
            "application/json"
        } else {
            DEFAULT_CONTENT_TYPE
        };
        headers.insert(0, ("content-type".into(), ct.into()));
    }

    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// The `Access-Control-Allow-Origin` value for `origin` under the channel's
/// `opts.cors_origins` (`*` allows any origin), or None.
///
/// An origin listed exactly is echoed as the caller sent it (the answer must
/// then carry `Vary: Origin`); one allowed only by `*` gets `*`. Scheme and
/// host compare case-insensitively, a default port (`:443` for https, `:80`
/// for http) and a trailing `/` in the list are ignored.
pub fn allowed_origin(cors_origins: &[String], origin: Option<&str>) -> Option<String> {
    let origin = origin?;
    let wanted = normalize_origin(origin);
    if cors_origins.iter().any(|o| normalize_origin(o) == wanted) {
        Some(origin.to_owned())
    } else if cors_origins.iter().any(|o| o.trim() == "*") {
        Some("*".into())
    } else {
        None
    }
}

/// Headers of the answer to an `OPTIONS` preflight: allow-origin, the
/// requested method and headers, max-age, `Vary: Origin`; None when the
/// origin is not allowed (the answer then carries no CORS headers).
///
/// With no (or an empty) requested method, `GET, POST, PUT, PATCH, DELETE,
/// OPTIONS` is allowed; `access-control-allow-headers` is present only when
/// headers were requested. Max-age is 600 s.
pub fn preflight(
    cors_origins: &[String],
    origin: Option<&str>,
    request_method: Option<&str>,
    request_headers: Option<&str>,
) -> Option<Vec<(String, String)>> {
    let allow_origin = allowed_origin(cors_origins, origin)?;
    let mut out = vec![
        ("access-control-allow-origin".to_owned(), allow_origin),
        (
            "access-control-allow-methods".to_owned(),
            nonempty(request_method)
                .unwrap_or(DEFAULT_ALLOW_METHODS)
                .to_owned(),
        ),
    ];
    if let Some(h) = nonempty(request_headers) {
        out.push(("access-control-allow-headers".to_owned(), h.to_owned()));
    }
    out.push((
        "access-control-max-age".to_owned(),
        PREFLIGHT_MAX_AGE_S.to_owned(),
    ));
    out.push(("vary".to_owned(), "Origin".to_owned()));
    Some(out)
}

/// Standard Webhooks signature header value, `v1,<base64 HMAC-SHA256>` of
/// `{msg_id}.{timestamp}.{body}`. A `whsec_` secret is base64-decoded after
/// its prefix; any other secret is used as raw bytes.
///
/// Padding is optional in a `whsec_` secret; one that does not decode is
/// used, whole and prefix included, as raw bytes.
pub fn standard_signature(secret: &str, msg_id: &str, timestamp_s: u64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(crate::b64::decode_lenient)
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(format!("{msg_id}.{timestamp_s}.").as_bytes());
    mac.update(body);
    format!("v1,{}", crate::b64::encode(&mac.finalize().into_bytes()))
}

/// `(path, query)` of a full URL (or of a bare path), the fragment dropped.
/// The path is `/` when the URL has none.
fn split_url(url: &str) -> (&str, &str) {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let (before, query) = url.split_once('?').unwrap_or((url, ""));
    let path = match before.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => before,
    };
    (path, query)
}

/// Form-decoded pairs → object; a repeated key gives an array in order.
fn pairs_to_object(input: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in form_urlencoded::parse(input) {
        let v = Value::String(v.into_owned());
        match out.get_mut(k.as_ref()) {
            Some(Value::Array(vs)) => vs.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
            None => {
                out.insert(k.into_owned(), v);
            }
        }
    }
    out
}

/// `s` trimmed, when that leaves something.
fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// An HTTP token (RFC 9110 `tchar`s, at least one).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An origin for comparison: trimmed, trailing `/` dropped, scheme and host
/// lowercased, default port dropped.
fn normalize_origin(origin: &str) -> String {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        if let Some(stripped) = o.strip_prefix(scheme).and_then(|h| h.strip_suffix(port)) {
            return format!("{scheme}{stripped}");
        }
    }
    o
}

/// Why there is nothing to send a channel's process. The `Display` text is
/// what the caller (502) and the request log see; the request's outcome is
/// [`crate::request_log::Outcome::NoProcess`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// `recv_svcscriptcode` is empty (or not a valid process).
    NoProcess,
    /// A `corezoid:` process whose `opts.corezoid_login` has no key in `API_KEYS` (the login).
    UnknownLogin(String),
    /// A `corezoid:` process, and `COREZOID_API_URL` is not set.
    NoEngineUrl,
    /// A `corezoid:` process, and `PROCESS_ALLOWED_HOSTS` does not allow `COREZOID_API_URL`.
    EngineNotAllowed,
    /// `PROCESS_ALLOWED_HOSTS` does not allow the channel's http process.
    ProcessNotAllowed,
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardError::NoProcess => {
                f.write_str("The channel names no process (recv_svcscriptcode is empty)")
            }
            ForwardError::UnknownLogin(login) => {
                write!(f, "opts.corezoid_login {login:?} names no key in API_KEYS")
            }
            ForwardError::NoEngineUrl => f.write_str("setting COREZOID_API_URL is not set"),
            ForwardError::EngineNotAllowed => {
                f.write_str("setting COREZOID_API_URL is not allowed by PROCESS_ALLOWED_HOSTS")
            }
            ForwardError::ProcessNotAllowed => f.write_str(
                "The channel's process (recv_svcscriptcode) is not allowed by \
                 PROCESS_ALLOWED_HOSTS",
            ),
        }
    }
}

/// The request that hands `event` to the channel's process: a POST of the
/// event to an http process, with Standard Webhooks headers (`webhook-id` =
/// the event id, `webhook-timestamp`, and `webhook-signature` keyed by
/// `token_remote` when set); or a Corezoid task in `conv_id`, signed with the
/// key of `opts.corezoid_login`, whose data is the event. A [`ForwardError`]
/// says why there is nothing to send (no process, no key, no engine URL, or
/// a process URL or engine URL that `PROCESS_ALLOWED_HOSTS` does not allow:
/// checked here, before each forward, as well as when the channel is
/// saved). The message never names the URL: the caller of a webhook may be
/// anyone.
pub fn forward_to_process(
    settings: &crate::Settings,
    channel: &Channel,
    event: &Value,
    event_id: &str,
    callback_url: &str,
    now_ms: u64,
) -> Result<crate::engine::Forward, ForwardError> {
    use crate::channel::{self, Process};
    use crate::engine::{self, Forward, Protocol};
    match channel::process(channel) {
        Process::None => Err(ForwardError::NoProcess),
        Process::Http(url) => {
            crate::outbound::check_destination(&url, &settings.process_allowed_hosts)
                .map_err(|_| ForwardError::ProcessNotAllowed)?;
            let body = event.to_string();
            let ts = now_ms / 1000;
            let mut headers = vec![
                ("webhook-id".to_string(), event_id.to_string()),
                ("webhook-timestamp".to_string(), ts.to_string()),
            ];
            if !channel.token_remote.is_empty() {
                let sig = standard_signature(&channel.token_remote, event_id, ts, body.as_bytes());
                headers.push(("webhook-signature".to_string(), sig));
            }
            Ok(Forward {
                url,
                body,
                headers,
                protocol: Protocol::Webhook,
            })
        }
        Process::Corezoid { conv_id } => {
            let login = channel.opts.corezoid_login.as_str();
            let Some(secret) = settings.api_keys.get(login) else {
                return Err(ForwardError::UnknownLogin(login.to_owned()));
            };
            let Some(api_url) = settings.corezoid_api_url.as_deref() else {
                return Err(ForwardError::NoEngineUrl);
            };
            crate::outbound::check_destination(api_url, &settings.process_allowed_hosts)
                .map_err(|_| ForwardError::EngineNotAllowed)?;
            let mut data = event.as_object().cloned().unwrap_or_default();
            // engine::forward adds the callback URL itself.
            data.shift_remove(engine::CALLBACK_URL_FIELD);
            let op = crate::sync_api::CreateOp {
                conv_id,
                data,
                reference: Some(Value::String(event_id.to_string())),
                id: None,
            };
            Ok(engine::forward(
                api_url,
                login,
                secret,
                now_ms / 1000,
                &op,
                callback_url,
            ))
        }
    }
}

/// The gateway's own answer to a webhook whose process could not answer it:
/// a REST error (`{"error_code": 1000 + status, "error_message": message}`)
/// and what the request log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookFailure {
    /// 502 (no process, a refusal, a failure, an invalid answer) or 504 (no answer in time).
    pub status: u16,
    /// The request log's outcome.
    pub outcome: Outcome,
    /// The caller's `error_message`, also the request log's `error`.
    pub message: String,
}

impl WebhookFailure {
    /// There is nothing to send the event to: 502, [`Outcome::NoProcess`].
    pub fn no_process(e: &ForwardError) -> WebhookFailure {
        WebhookFailure {
            status: 502,
            outcome: Outcome::NoProcess,
            message: e.to_string(),
        }
    }

    /// The answer as the REST error the caller gets.
    pub fn to_rest(&self) -> RestError {
        RestError::new(self.status, self.message.clone())
    }
}

/// What the caller of a sync webhook gets once its wait is over.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncAnswer {
    /// The process's answer, to send as it is: [`Outcome::Answered`], and
    /// the caller's status is the reply's.
    Reply(Reply),
    /// The gateway's error answer.
    Failure(WebhookFailure),
}

/// The answer to a sync webhook from what became of its event:
///
/// | outcome | status | log outcome | message |
/// | --- | --- | --- | --- |
/// | `Data`, a valid answer ([`reply`]) | the answer's | `answered` | — |
/// | `Data`, an invalid answer | 502 | `failed` | `The process's answer is invalid: {reason}` |
/// | `Refused` | 502 | `failed` | [`refusal`] |
/// | `Failed` | 502 | `failed` | the description |
/// | `Timeout` | 504 | `timed_out` | `The process did not answer within {max_wait_s} s` |
///
/// `max_wait_s` is `WEBHOOK_MAX_WAIT_S`.
pub fn sync_answer(outcome: OpOutcome, max_wait_s: u64) -> SyncAnswer {
    let failure = |status, outcome, message| {
        SyncAnswer::Failure(WebhookFailure {
            status,
            outcome,
            message,
        })
    };
    match outcome {
        OpOutcome::Data { data } => match reply(&data) {
            Ok(r) => SyncAnswer::Reply(r),
            Err(e) => failure(
                502,
                Outcome::Failed,
                format!("The process's answer is invalid: {e}"),
            ),
        },
        OpOutcome::Refused { op } => failure(502, Outcome::Failed, refusal(&op)),
        OpOutcome::Failed { description } => failure(502, Outcome::Failed, description),
        OpOutcome::Timeout => failure(
            504,
            Outcome::TimedOut,
            format!("The process did not answer within {max_wait_s} s"),
        ),
    }
}

/// What the request log records of an async webhook once its event was
/// handed over: the outcome and the error. Taken ([`EngineReply::Accepted`])
/// is [`Outcome::Accepted`] without an error; a refusal or a failure is
/// [`Outcome::Failed`] with [`refusal`]'s message or the failure's
/// description.
pub fn handover_outcome(reply: &EngineReply) -> (Outcome, Option<String>) {
    match reply {
        EngineReply::Accepted => (Outcome::Accepted, None),
        EngineReply::Refused(op) => (Outcome::Failed, Some(refusal(op))),
        EngineReply::Failed(description) => (Outcome::Failed, Some(description.clone())),
    }
}

/// The message of a process's refusal of an event: `The process refused
/// the event: ` and the refusal's `description` when it is a string, else
/// the refusal's whole JSON.
pub fn refusal(op: &Value) -> String {
    match op.get("description").and_then(Value::as_str) {
        Some(d) => format!("The process refused the event: {d}"),
        None => format!("The process refused the event: {op}"),
    }
}

impl Reply {
    /// The answer as the request log's `response` records it: `{status,
    /// headers: [[name, value], …], body}` with the body cut by
    /// [`crate::request_log::excerpt`].
    pub fn record(&self) -> Value {
        serde_json::json!({
            "status": self.status,
            "headers": self.headers.iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
            "body": crate::request_log::excerpt(&self.body),
        })
    }
}
