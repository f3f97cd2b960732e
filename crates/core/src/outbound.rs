//! Outbound callbacks (Corteos's callbacks, with what Svix users expect):
//! per-channel configuration, `@Name` templates escaped for the body's
//! content type, the destination allow-list, the retry policy, and the
//! delivery record. Pure: the worker sends, queues and stores.

use crate::error::RestError;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::Ipv6Addr;

/// Default retry interval (Corteos: every 5 minutes).
pub const DEFAULT_INTERVAL_S: u64 = 300;
/// Default attempt count (Corteos: at most 10).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Largest delay between attempts (a Cloudflare Queues per-message limit: 12 h).
pub const MAX_DELAY_S: u64 = 12 * 3600;
/// Largest attempt count accepted.
pub const MAX_ATTEMPTS_LIMIT: u32 = 100;
/// Longest body template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Built-in placeholders, always available.
pub const BUILTINS: [&str; 3] = ["CallbackId", "EventType", "EventDescription"];

/// `opts.callback` of a channel. The destination is the channel's `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    /// `GET`, `POST`, `PUT` or `PATCH` (default `POST`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Header lines, `Name: value`, one per line (Corteos's form); values may hold placeholders.
    #[serde(default)]
    pub headers: String,
    /// The body template (for `GET`: the query string template).
    #[serde(default)]
    pub body: String,
    /// Names of the variables a send provides; a placeholder that is neither
    /// declared here nor built in is refused when the channel is saved.
    #[serde(default)]
    pub variables: Vec<String>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Optional `whsec_…` secret: deliveries then carry Standard Webhooks headers.
    #[serde(default)]
    pub signing_secret: String,
    /// Optional key (16+ chars) that lets the channel's process call `…/send`
    /// with `Authorization: Bearer {process_key}` instead of the admin token.
    #[serde(default)]
    pub process_key: String,
}

fn default_method() -> String {
    "POST".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// `interval` (every `interval_s`) or `exponential` (`interval_s` × 2^(n−1), capped).
    pub schedule: String,
    pub interval_s: u64,
    pub max_attempts: u32,
    /// Random extra delay of up to this fraction of each delay (0 = none; exponential default 0.2).
    pub jitter: f64,
    /// `200` (only HTTP 200 is success, Corteos) or `2xx` (any 2xx).
    pub success: String,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            schedule: "interval".into(),
            interval_s: DEFAULT_INTERVAL_S,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            jitter: 0.0,
            success: "200".into(),
        }
    }
}

/// Reads and validates `opts.callback`: method, header lines, template size,
/// placeholders (each must be declared or built in), retry bounds, the
/// secrets' form. Errors are 400s naming the field.
///
/// - Unknown keys (here and in `retry`) and `null` values are refused.
/// - `method`: `GET`, `POST`, `PUT` or `PATCH` in any case, stored upper case.
/// - `headers`: lines split on LF (a CR before it is dropped); blank lines
///   are skipped and each line is trimmed. Each line is `Name: value` with
///   an HTTP token as the name and a value without control characters
///   (tab allowed); errors name the line number, never echo the value.
///   `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` are set
///   by the gateway and refused. At most [`MAX_TEMPLATE_BYTES`].
/// - `body`: at most [`MAX_TEMPLATE_BYTES`].
/// - `variables`: unique names `[A-Za-z_][A-Za-z0-9_]*`; `CallbackId` is
///   built in and cannot be declared (`EventType` and `EventDescription`
///   may be, which makes them required).
/// - Placeholders in `body` and header values follow [`render`]'s syntax;
///   every `@` starts one, so a literal `@` is written `@@` (`a@@b.com`).
///   A malformed one (`@{` unclosed, `@{}`, `@!` without a name, `@`
///   before a character that cannot start a name) is refused with its line
///   and column, and the names that are neither declared nor built in are
///   refused together in one message.
/// - `retry`: `schedule` `interval` or `exponential`; `interval_s`
///   1..=[`MAX_DELAY_S`]; `max_attempts` 1..=[`MAX_ATTEMPTS_LIMIT`];
///   `jitter` 0..=1; `success` `"200"` or `"2xx"`. Omitted fields take
///   [`RetryPolicy::default`]'s values, except that an `exponential`
///   schedule whose object has no `jitter` key gets a jitter of 0.2: the
///   returned policy then holds 0.2 explicitly, so serializing it and
///   parsing it again gives the same policy.
/// - `signing_secret`: empty, or `whsec_` + base64 (padding optional) of at
///   least 16 bytes.
/// - `process_key`: empty, or 16+ printable ASCII characters, no spaces.
pub fn parse_config(v: &Value) -> Result<CallbackConfig, RestError> {
    let given = match v {
        Value::Object(m) => m,
        _ => return Err(bad("`opts.callback` must be an object")),
    };
    let mut config = CallbackConfig {
        method: default_method(),
        headers: String::new(),
        body: String::new(),
        variables: Vec::new(),
        retry: RetryPolicy::default(),
        signing_secret: String::new(),
        process_key: String::new(),
    };
    for (key, value) in given {
        let name = format!("opts.callback.{key}");
        match key.as_str() {
            "method" => {
                let method = string(&name, value)?.to_ascii_uppercase();
                if !METHODS.contains(&method.as_str()) {
                    return Err(bad(format!("`{name}` must be GET, POST, PUT or PATCH")));
                }
                config.method = method;
            }
            "headers" => {
                let headers = string(&name, value)?;
                if headers.len() > MAX_TEMPLATE_BYTES {
                    return Err(bad(format!(
                        "`{name}` is longer than {MAX_TEMPLATE_BYTES} bytes"
                    )));
                }
                config.headers = headers.to_owned();
            }
            "body" => {
                let body = string(&name, value)?;
                if body.len() > MAX_TEMPLATE_BYTES {
                    return Err(bad(format!(
                        "`{name}` is longer than {MAX_TEMPLATE_BYTES} bytes"
                    )));
                }
                config.body = body.to_owned();
            }
            "variables" => config.variables = parse_variables(&name, value)?,
            "retry" => config.retry = parse_retry(value)?,
            "signing_secret" => {
                let secret = string(&name, value)?;
                if !secret.is_empty() && !is_signing_secret(secret) {
                    return Err(bad(format!(
                        "`{name}` must be empty or whsec_ followed by the base64 of at least \
                         {MIN_SECRET_BYTES} random bytes"
                    )));
                }
                config.signing_secret = secret.to_owned();
            }
            "process_key" => {
                let key = string(&name, value)?;
                if !key.is_empty()
                    && (key.len() < MIN_PROCESS_KEY_CHARS
                        || !key.bytes().all(|b| b.is_ascii_graphic()))
                {
                    return Err(bad(format!(
                        "`{name}` must be empty or at least {MIN_PROCESS_KEY_CHARS} printable \
                         ASCII characters without spaces"
                    )));
                }
                config.process_key = key.to_owned();
            }
            _ => {
                return Err(bad(format!(
                    "`{name}` is not a known field (known: {})",
                    FIELDS.join(", ")
                )))
            }
        }
    }
    check_placeholders(&config)?;
    Ok(config)
}

/// Checks `url` against the allow-list (`CALLBACK_ALLOWED_HOSTS`: comma- or
/// whitespace-separated entries, each `host`, `*.domain`, `http://host` or
/// `http://*.domain`; a port in the URL is allowed by its host's entry).
/// `https://` is required unless the matching entry starts with `http://`.
/// The error says why, for a 400 at save time or a failed delivery at send time.
///
/// Rules: an empty list refuses everything. Hosts compare case-insensitively
/// (one trailing dot ignored). `host` matches that host only; `*.domain`
/// matches every subdomain at any depth but not `domain` itself, and never
/// an IP address. IPv6 is written in brackets (`[2001:db8::1]`, compared as
/// addresses). An entry may name a port (`http://localhost:8787`) to allow
/// only that one; without one it allows every port. An `http://` entry
/// allows both schemes. `*` alone is not an entry: there is no "allow all".
/// Entries of another form are ignored (and listed when a URL is refused).
/// The URL must be absolute `http(s)://`, without user info, whitespace,
/// control characters or backslashes; its host must be ASCII (punycode for
/// IDNs), and an IPv4 address must be in dotted-quad form.
pub fn check_destination(url: &str, allowed_hosts: &str) -> Result<(), String> {
    let mut entries = Vec::new();
    let mut ignored = Vec::new();
    for raw in allowed_hosts
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        match parse_entry(raw) {
            Some(entry) => entries.push(entry),
            None => ignored.push(format!("`{raw}`")),
        }
    }
    let note = if ignored.is_empty() {
        String::new()
    } else {
        format!(
            " (ignored CALLBACK_ALLOWED_HOSTS entries, which are not host, *.domain, \
             http://host or http://*.domain: {})",
            ignored.join(", ")
        )
    };
    if entries.is_empty() {
        return Err(format!(
            "no destination is allowed: set CALLBACK_ALLOWED_HOSTS{note}"
        ));
    }
    let dest = parse_destination(url)?;
    let host_entries: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.host.matches(&dest.host))
        .collect();
    let shown = dest.host.shown();
    if host_entries.is_empty() {
        let prefix = if dest.http { "http://" } else { "" };
        let mut add = format!("`{prefix}{shown}`");
        if let Host::Name(name) = &dest.host {
            if let Some((_, parent)) = name.split_once('.') {
                if parent.contains('.') {
                    add.push_str(&format!(" or `{prefix}*.{parent}`"));
                }
            }
        }
        return Err(format!(
            "callback destination host `{shown}` is not allowed: add {add} to \
             CALLBACK_ALLOWED_HOSTS{note}"
        ));
    }
    let matching: Vec<&&Entry> = host_entries
        .iter()
        .filter(|e| e.port.is_none_or(|p| p == dest.port))
        .collect();
    if matching.is_empty() {
        let prefix = if dest.http { "http://" } else { "" };
        return Err(format!(
            "port {port} of callback destination host `{shown}` is not allowed: add \
             `{prefix}{shown}:{port}` (or `{prefix}{shown}` for every port) to \
             CALLBACK_ALLOWED_HOSTS{note}",
            port = dest.port
        ));
    }
    if dest.http && !matching.iter().any(|e| e.http) {
        return Err(format!(
            "callback destination `{url}` uses plain http, which is refused: use https://, or \
             add `http://{shown}` to CALLBACK_ALLOWED_HOSTS to allow http for this host"
        ));
    }
    Ok(())
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Renders the configuration for one send. `vars` are the send's
/// variables (every declared one must be present: missing ones are a 422
/// naming them); `callback_id` fills `@CallbackId`; `@EventType` and
/// `@EventDescription` come from `vars` when given, else are empty.
///
/// Placeholders: `@Name` (the longest run of `[A-Za-z0-9_]`), `@{Name}` to
/// delimit, `@!Name` / `@!{Name}` for a raw value (no escaping), `@@` for a
/// literal `@`. Values are escaped for the body's content type (from the
/// `Content-Type` header line): JSON string escaping for `json`, XML
/// escaping for `xml`, percent-encoding for `x-www-form-urlencoded` and
/// for the query of a `GET` (whose rendered template is appended to the
/// URL as its query); other types get the value as is. Header values get
/// the value as is, and a value with CR, LF or NUL is refused (422).
/// Non-string variable values are written as their JSON text.
///
/// Details: the content type is the media type of the first `Content-Type`
/// line (name in any case, value after substitution): `…/json`,
/// `…/x-json` or `…+json` is JSON; `…/xml` or `…+xml` (`text/xml`,
/// `application/soap+xml`) is XML; `application/x-www-form-urlencoded` is
/// a form. JSON escaping is serde_json's string escaping without the quotes
/// (so `"@Name"` is a valid JSON string for any value). XML escaping turns
/// `& < > " '` into entities and CR into `&#13;`; a character XML 1.0
/// cannot carry (a control character other than tab, LF, CR; U+FFFE;
/// U+FFFF) is refused (422). Form and query values are percent-encoded as
/// `application/x-www-form-urlencoded` (space as `+`). For a `GET`, a
/// leading `?` or `&` of the rendered query is dropped, the rest is
/// appended with `?` (or `&` when the URL has a query), before any
/// fragment, and the body is empty. Raw placeholders skip the escaping
/// (and the XML check); header values are never escaped. `@CallbackId`
/// always takes `callback_id`, whatever `vars` holds.
pub fn render(
    config: &CallbackConfig,
    url: &str,
    vars: &Map<String, Value>,
    callback_id: &str,
) -> Result<Rendered, RestError> {
    let mut missing: Vec<&str> = config
        .variables
        .iter()
        .map(String::as_str)
        .filter(|name| *name != "CallbackId" && !vars.contains_key(*name))
        .collect();
    let lookup = |name: &str| -> Option<String> {
        if name == "CallbackId" {
            return Some(callback_id.to_owned());
        }
        match vars.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
            None if name == "EventType" || name == "EventDescription" => Some(String::new()),
            None => None,
        }
    };

    let lines = header_lines(&config.headers)
        .map_err(|m| unprocessable(format!("`opts.callback.headers` {m}")))?;
    let mut line_pieces = Vec::with_capacity(lines.len());
    for line in &lines {
        let pieces = parse_template(line.value).map_err(|e| {
            unprocessable(format!(
                "`opts.callback.headers` line {}: {}",
                line.no, e.message
            ))
        })?;
        line_pieces.push(pieces);
    }
    let body_pieces = parse_template(&config.body).map_err(|e| {
        let (l, c) = line_col(&config.body, e.at);
        unprocessable(format!(
            "`opts.callback.body` line {l}, column {c}: {}",
            e.message
        ))
    })?;
    for piece in line_pieces.iter().flatten().chain(&body_pieces) {
        if let Piece::Var { name, .. } = piece {
            if lookup(name).is_none() && !missing.contains(name) {
                missing.push(name);
            }
        }
    }
    if !missing.is_empty() {
        return Err(unprocessable(format!(
            "missing variables: {} (every variable of `opts.callback.variables` must be given)",
            missing.join(", ")
        )));
    }
    let value = |name: &str| lookup(name).unwrap_or_default();

    let mut headers = Vec::with_capacity(lines.len());
    for (line, pieces) in lines.iter().zip(&line_pieces) {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, .. } => {
                    let v = value(name);
                    if v.contains(['\r', '\n', '\0']) {
                        return Err(unprocessable(format!(
                            "header `{}` cannot hold CR, LF or NUL, and the value of @{name} \
                             has one",
                            line.name
                        )));
                    }
                    out.push_str(&v);
                }
            }
        }
        if out.contains(['\r', '\n', '\0']) {
            return Err(unprocessable(format!(
                "header `{}` cannot hold CR, LF or NUL",
                line.name
            )));
        }
        headers.push((line.name.to_owned(), out));
    }

    let method = config.method.to_ascii_uppercase();
    let get = method == "GET";
    let escape = if get {
        Escape::Form
    } else {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map_or(Escape::None, |(_, v)| escape_for(v))
    };
    let mut body = String::with_capacity(config.body.len());
    for piece in &body_pieces {
        match piece {
            Piece::Text(t) => body.push_str(t),
            Piece::Var { name, raw: true } => body.push_str(&value(name)),
            Piece::Var { name, raw: false } => {
                let v = value(name);
                match escape {
                    Escape::None => body.push_str(&v),
                    Escape::Json => body.push_str(&escape_json(&v)),
                    Escape::Form => body.extend(form_urlencoded::byte_serialize(v.as_bytes())),
                    Escape::Xml => escape_xml(&v, &mut body).map_err(|c| {
                        unprocessable(format!(
                            "the value of @{name} holds U+{:04X}, which XML cannot carry",
                            u32::from(c)
                        ))
                    })?,
                }
            }
        }
    }
    if get {
        return Ok(Rendered {
            method,
            url: with_query(url, &body),
            headers,
            body: String::new(),
        });
    }
    Ok(Rendered {
        method,
        url: url.to_owned(),
        headers,
        body,
    })
}

/// Corteos's `@CallbackId`: .NET ticks (100 ns since 0001-01-01) of `now_ms`.
pub fn callback_id(now_ms: u64) -> String {
    /// Ticks from 0001-01-01 to 1970-01-01.
    const UNIX_EPOCH_TICKS: u128 = 621_355_968_000_000_000;
    (u128::from(now_ms) * 10_000 + UNIX_EPOCH_TICKS).to_string()
}

/// What one attempt's result means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted: the delivery is done.
    Delivered,
    /// Try again after this many seconds.
    Retry { delay_s: u64 },
    /// Attempts used up: the delivery is dead.
    Dead,
    /// Stop now without more attempts (410 Gone): the delivery failed.
    Stop,
}

/// Decides after attempt number `attempt` (1-based): `status` is None for a
/// transport error or timeout (always retried). Success per
/// `policy.success`; 410 stops; otherwise retry while attempts remain, after
/// the policy's delay, or after `Retry-After` (seconds or an HTTP date,
/// relative to `now_s`) when the receiver sent one and it is longer — capped
/// at [`MAX_DELAY_S`]. `random` in [0, 1) draws the jitter.
///
/// The delay: `interval` waits `interval_s`; `exponential` waits
/// `interval_s` × 2^(attempt−1), capped at [`MAX_DELAY_S`]; jitter then adds
/// ⌊delay × jitter × random⌋. A `Retry-After` of delta-seconds or an
/// IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`) replaces the delay when it
/// is longer; any other form is ignored. The result is capped at
/// [`MAX_DELAY_S`]. `success` other than `2xx` means `200`.
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    status: Option<u16>,
    retry_after: Option<&str>,
    now_s: u64,
    random: f64,
) -> Verdict {
    if let Some(status) = status {
        let ok = if policy.success.eq_ignore_ascii_case("2xx") {
            (200..=299).contains(&status)
        } else {
            status == 200
        };
        if ok {
            return Verdict::Delivered;
        }
        if status == 410 {
            return Verdict::Stop;
        }
    }
    if attempt >= policy.max_attempts {
        return Verdict::Dead;
    }
    let base = policy.interval_s.min(MAX_DELAY_S);
    let delay = if policy.schedule == "exponential" {
        let factor = 1u64
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u64::MAX);
        base.saturating_mul(factor).min(MAX_DELAY_S)
    } else {
        base
    };
    let fraction = clamp_unit(policy.jitter) * clamp_unit(random).min(1.0 - f64::EPSILON);
    let delay = delay + (delay as f64 * fraction).floor() as u64;
    let delay = match retry_after.and_then(|ra| retry_after_s(ra, now_s)) {
        Some(asked) if asked > delay => asked,
        _ => delay,
    };
    Verdict::Retry {
        delay_s: delay.min(MAX_DELAY_S),
    }
}

/// Delivery states.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
pub const DEAD: &str = "dead";

/// One attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub n: u32,
    /// ISO-8601 UTC.
    pub at: String,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// First 1 KB of the response body.
    pub response_excerpt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A delivery, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub channel_id: String,
    pub state: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub request: Rendered,
    pub retry: RetryPolicy,
    pub attempts: Vec<Attempt>,
    /// Attempts made before the latest resend; the retry policy counts the rest.
    #[serde(default)]
    pub attempt_base: u32,
    /// Unix ms of the next attempt while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------
// Configuration

const FIELDS: [&str; 7] = [
    "method",
    "headers",
    "body",
    "variables",
    "retry",
    "signing_secret",
    "process_key",
];
const RETRY_FIELDS: [&str; 5] = [
    "schedule",
    "interval_s",
    "max_attempts",
    "jitter",
    "success",
];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "PATCH"];
/// Headers the gateway (the Workers runtime) sets itself.
const RESERVED_HEADERS: [&str; 4] = ["Host", "Content-Length", "Transfer-Encoding", "Connection"];
/// An `exponential` schedule's jitter when `retry.jitter` is not given.
const EXPONENTIAL_JITTER: f64 = 0.2;
const MIN_SECRET_BYTES: usize = 16;
const MIN_PROCESS_KEY_CHARS: usize = 16;

fn bad(message: impl Into<String>) -> RestError {
    RestError::bad_request(message)
}

fn unprocessable(message: impl Into<String>) -> RestError {
    RestError::new(422, message)
}

fn string<'a>(name: &str, value: &'a Value) -> Result<&'a str, RestError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Err(bad(format!("`{name}` cannot be null"))),
        _ => Err(bad(format!("`{name}` must be a string"))),
    }
}

fn parse_variables(name: &str, value: &Value) -> Result<Vec<String>, RestError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => return Err(bad(format!("`{name}` cannot be null"))),
        _ => return Err(bad(format!("`{name}` must be an array of names"))),
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(var) = item else {
            return Err(bad(format!("`{name}[{i}]` must be a string")));
        };
        if !is_ident(var) {
            return Err(bad(format!(
                "`{name}[{i}]` is not a valid name: use letters, digits and _, \
                 not starting with a digit"
            )));
        }
        if var == "CallbackId" {
            return Err(bad(format!(
                "`{name}[{i}]`: CallbackId is built in (the gateway fills it); do not declare it"
            )));
        }
        if out.contains(var) {
            return Err(bad(format!("`{name}[{i}]` repeats the name {var}")));
        }
        out.push(var.clone());
    }
    Ok(out)
}

fn parse_retry(value: &Value) -> Result<RetryPolicy, RestError> {
    let given = match value {
        Value::Object(m) => m,
        Value::Null => return Err(bad("`opts.callback.retry` cannot be null")),
        _ => return Err(bad("`opts.callback.retry` must be an object")),
    };
    let mut policy = RetryPolicy::default();
    let mut jitter_given = false;
    for (key, value) in given {
        let name = format!("opts.callback.retry.{key}");
        match key.as_str() {
            "schedule" => {
                let schedule = string(&name, value)?;
                if schedule != "interval" && schedule != "exponential" {
                    return Err(bad(format!(
                        "`{name}` must be \"interval\" or \"exponential\""
                    )));
                }
                policy.schedule = schedule.to_owned();
            }
            "interval_s" => {
                policy.interval_s = match value.as_u64() {
                    Some(n) if (1..=MAX_DELAY_S).contains(&n) => n,
                    _ => {
                        return Err(bad(format!(
                            "`{name}` must be a whole number of seconds from 1 to {MAX_DELAY_S}"
                        )))
                    }
                };
            }
            "max_attempts" => {
                policy.max_attempts = match value.as_u64() {
                    Some(n) if (1..=u64::from(MAX_ATTEMPTS_LIMIT)).contains(&n) => n as u32,
                    _ => {
                        return Err(bad(format!(
                            "`{name}` must be a whole number from 1 to {MAX_ATTEMPTS_LIMIT}"
                        )))
                    }
                };
            }
            "jitter" => {
                policy.jitter = match value.as_f64() {
                    Some(j) if (0.0..=1.0).contains(&j) => j,
                    _ => {
                        return Err(bad(format!(
                            "`{name}` must be a number from 0 to 1 (a fraction of each delay)"
                        )))
                    }
                };
                jitter_given = true;
            }
            "success" => {
                policy.success = match value {
                    Value::String(s) if s == "200" => "200".to_owned(),
                    Value::String(s) if s.eq_ignore_ascii_case("2xx") => "2xx".to_owned(),
                    Value::Number(n) if n.as_u64() == Some(200) => "200".to_owned(),
                    _ => {
                        return Err(bad(format!(
                            "`{name}` must be \"200\" (only HTTP 200 is success) or \"2xx\" \
                             (any 2xx is success)"
                        )))
                    }
                };
            }
            _ => {
                return Err(bad(format!(
                    "`{name}` is not a known field (known: {})",
                    RETRY_FIELDS.join(", ")
                )))
            }
        }
    }
    if policy.schedule == "exponential" && !jitter_given {
        policy.jitter = EXPONENTIAL_JITTER;
    }
    Ok(policy)
}

fn is_signing_secret(secret: &str) -> bool {
    /// Standard alphabet, padding optional (as `webhook::standard_signature` reads it).
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| LENIENT.decode(b64).ok())
        .is_some_and(|key| key.len() >= MIN_SECRET_BYTES)
}

/// Syntax of the header values and body, and every placeholder declared or built in.
fn check_placeholders(config: &CallbackConfig) -> Result<(), RestError> {
    let lines =
        header_lines(&config.headers).map_err(|m| bad(format!("`opts.callback.headers` {m}")))?;
    // (name, where), in order of first use.
    let mut unknown: Vec<(&str, String)> = Vec::new();
    let mut note = |name, place: &dyn Fn() -> String| {
        let known = BUILTINS.contains(&name) || config.variables.iter().any(|v| v == name);
        if !known && !unknown.iter().any(|(n, _)| *n == name) {
            unknown.push((name, place()));
        }
    };
    for line in &lines {
        let pieces = parse_template(line.value).map_err(|e| {
            bad(format!(
                "`opts.callback.headers` line {}: {}",
                line.no, e.message
            ))
        })?;
        for piece in pieces {
            if let Piece::Var { name, .. } = piece {
                note(name, &|| format!("headers line {}", line.no));
            }
        }
    }
    let pieces = parse_template(&config.body).map_err(|e| {
        let (l, c) = line_col(&config.body, e.at);
        bad(format!(
            "`opts.callback.body` line {l}, column {c}: {}",
            e.message
        ))
    })?;
    for (at, piece) in pieces_at(&config.body, &pieces) {
        if let Piece::Var { name, .. } = piece {
            note(name, &|| {
                let (l, c) = line_col(&config.body, at);
                format!("body line {l}, column {c}")
            });
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|(name, place)| {
            let hint = BUILTINS
                .iter()
                .copied()
                .chain(config.variables.iter().map(String::as_str))
                .find(|k| k.eq_ignore_ascii_case(name))
                .map(|k| format!(", did you mean @{k}?"))
                .unwrap_or_default();
            format!("@{name} ({place}{hint})")
        })
        .collect();
    Err(bad(format!(
        "`opts.callback` uses undeclared placeholders: {}. Declare each name in \
         `opts.callback.variables` or use a built-in (@CallbackId, @EventType, \
         @EventDescription); every @ starts a placeholder, so write @@ for a literal @ \
         (a@@b.com)",
        listed.join(", ")
    )))
}

/// One header line of the configuration.
struct HeaderLine<'a> {
    /// 1-based line number in `headers`.
    no: usize,
    name: &'a str,
    /// The value template, trimmed.
    value: &'a str,
}

/// The `Name: value` lines of `headers`; an error starts with `line N`.
fn header_lines(headers: &str) -> Result<Vec<HeaderLine<'_>>, String> {
    let mut out = Vec::new();
    for (i, raw) in headers.split('\n').enumerate() {
        let no = i + 1;
        let line = raw
            .strip_suffix('\r')
            .unwrap_or(raw)
            .trim_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("line {no} is not `Name: value`"));
        };
        if !is_token(name) {
            return Err(format!(
                "line {no}: the header name must be letters, digits or !#$%&'*+-.^_`|~ \
                 right before the colon (`Name: value`)"
            ));
        }
        if let Some(reserved) = RESERVED_HEADERS
            .iter()
            .find(|r| r.eq_ignore_ascii_case(name))
        {
            return Err(format!(
                "line {no}: {reserved} is set by the gateway; remove the line"
            ));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|c| c != '\t' && c.is_ascii_control()) {
            return Err(format!(
                "line {no}: the value of header `{name}` holds a control character"
            ));
        }
        out.push(HeaderLine { no, name, value });
    }
    Ok(out)
}

/// An HTTP token (RFC 9110 `tchar`s, at least one).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_ident(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(is_name_byte)
}

// ---------------------------------------------------------------------------
// Templates

/// A parsed template: text and placeholders.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Var { name: &'a str, raw: bool },
}

struct SyntaxError {
    /// Byte offset of the `@`.
    at: usize,
    message: String,
}

/// Splits a template into text and placeholders (syntax in [`render`]).
fn parse_template(t: &str) -> Result<Vec<Piece<'_>>, SyntaxError> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(off) = t[i..].find('@') {
        let at = i + off;
        if at > text_start {
            out.push(Piece::Text(&t[text_start..at]));
        }
        let fail = |message: &str| SyntaxError {
            at,
            message: message.to_owned(),
        };
        let mut j = at + 1;
        if b.get(j) == Some(&b'@') {
            out.push(Piece::Text("@"));
            i = j + 1;
            text_start = i;
            continue;
        }
        let raw = b.get(j) == Some(&b'!');
        if raw {
            j += 1;
        }
        let braced = b.get(j) == Some(&b'{');
        if braced {
            j += 1;
        }
        let run = b[j..].iter().take_while(|c| is_name_byte(**c)).count();
        let name = &t[j..j + run];
        let mut end = j + run;
        if braced {
            match b.get(end) {
                Some(b'}') if name.is_empty() => return Err(fail("`@{}` has no name")),
                Some(b'}') if !is_ident(name) => {
                    return Err(fail(
                        "a placeholder name must not start with a digit (letters, digits, _)",
                    ))
                }
                Some(b'}') => end += 1,
                None => return Err(fail("`@{` is not closed by `}`")),
                Some(_) => {
                    return Err(fail(
                        "`@{` must hold only a name (letters, digits, _) and be closed by `}`",
                    ))
                }
            }
        } else if !is_ident(name) {
            return Err(fail(if raw {
                "`@!` must be followed by a name (`@!Name` or `@!{Name}`)"
            } else {
                "`@` must start a placeholder (`@Name`, `@{Name}`, `@!Name`); write `@@` for \
                 a literal @"
            }));
        }
        out.push(Piece::Var { name, raw });
        i = end;
        text_start = end;
    }
    if text_start < t.len() {
        out.push(Piece::Text(&t[text_start..]));
    }
    Ok(out)
}

/// Each piece with its byte offset in the template.
fn pieces_at<'p, 'a>(t: &str, pieces: &'p [Piece<'a>]) -> Vec<(usize, &'p Piece<'a>)> {
    let mut at = 0;
    pieces
        .iter()
        .map(|piece| {
            let start = at;
            at += match piece {
                // `@@` became "@": two bytes of template.
                Piece::Text("@") if t[start..].starts_with("@@") => 2,
                Piece::Text(s) => s.len(),
                Piece::Var { name, raw } => {
                    let braced = t.as_bytes().get(start + 1 + usize::from(*raw)) == Some(&b'{');
                    1 + usize::from(*raw) + name.len() + if braced { 2 } else { 0 }
                }
            };
            (start, piece)
        })
        .collect()
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(t: &str, at: usize) -> (usize, usize) {
    let before = &t[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Escape {
    None,
    Json,
    Xml,
    Form,
}

/// The escaping a `Content-Type` value calls for.
fn escape_for(content_type: &str) -> Escape {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let subtype = essence.split_once('/').map_or("", |(_, s)| s);
    if subtype == "json" || subtype == "x-json" || subtype.ends_with("+json") {
        Escape::Json
    } else if subtype == "xml" || subtype.ends_with("+xml") {
        Escape::Xml
    } else if essence == "application/x-www-form-urlencoded" {
        Escape::Form
    } else {
        Escape::None
    }
}

/// The inside of a JSON string holding `s`.
fn escape_json(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string always serializes");
    quoted[1..quoted.len() - 1].to_owned()
}

/// Appends `s` escaped for XML text or attributes; a character XML 1.0
/// cannot carry is returned as the error.
fn escape_xml(s: &str, out: &mut String) -> Result<(), char> {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => return Err(c),
            c => out.push(c),
        }
    }
    Ok(())
}

/// `url` with `query` appended as (more of) its query, before any fragment.
fn with_query(url: &str, query: &str) -> String {
    let query = query
        .strip_prefix('?')
        .or_else(|| query.strip_prefix('&'))
        .unwrap_or(query);
    if query.is_empty() {
        return url.to_owned();
    }
    let (base, fragment) = url.split_at(url.find('#').unwrap_or(url.len()));
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{base}{sep}{query}{fragment}")
}

// ---------------------------------------------------------------------------
// Destinations

#[derive(Debug, Clone, PartialEq)]
enum Host {
    /// Lowercase, without a trailing dot (an IPv4 address is a name here).
    Name(String),
    V6(Ipv6Addr),
}

impl Host {
    fn shown(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::V6(a) => format!("[{a}]"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    Exact(Host),
    /// `*.domain`: the domain, lowercase.
    Wildcard(String),
}

impl Pattern {
    fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (Pattern::Exact(h), host) => h == host,
            (Pattern::Wildcard(domain), Host::Name(name)) => {
                !is_ipv4_form(name)
                    && name.len() > domain.len() + 1
                    && name.ends_with(domain.as_str())
                    && name.as_bytes()[name.len() - domain.len() - 1] == b'.'
            }
            (Pattern::Wildcard(_), Host::V6(_)) => false,
        }
    }
}

/// One `CALLBACK_ALLOWED_HOSTS` entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// Plain http allowed too.
    http: bool,
    host: Pattern,
    port: Option<u16>,
}

fn parse_entry(raw: &str) -> Option<Entry> {
    let lower = raw.to_ascii_lowercase();
    let (http, rest) = match lower.strip_prefix("http://") {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix("https://").unwrap_or(&lower)),
    };
    let rest = rest.trim_end_matches('/');
    if let Some(domain) = rest.strip_prefix("*.") {
        let (domain, port) = split_port(domain).ok()?;
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        if !is_host_name(domain) || is_ipv4_form(domain) {
            return None;
        }
        return Some(Entry {
            http,
            host: Pattern::Wildcard(domain.to_owned()),
            port,
        });
    }
    let (host, port) = if rest.matches(':').count() >= 2 && !rest.starts_with('[') {
        // A bare IPv6 address.
        (Host::V6(rest.parse().ok()?), None)
    } else {
        parse_host_port(rest).ok()?
    };
    Some(Entry {
        http,
        host: Pattern::Exact(host),
        port,
    })
}

/// A destination URL's parts that the allow-list looks at.
struct Destination {
    http: bool,
    host: Host,
    /// Explicit or the scheme's default.
    port: u16,
}

fn parse_destination(url: &str) -> Result<Destination, String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the callback URL must not contain spaces or control characters".into());
    }
    if url.contains('\\') {
        return Err("the callback URL must not contain a backslash".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "callback destination `{url}` is not an absolute URL (https://host/path)"
        ));
    };
    let http = if scheme.eq_ignore_ascii_case("https") {
        false
    } else if scheme.eq_ignore_ascii_case("http") {
        true
    } else {
        return Err(format!(
            "callback destination `{url}` must be an https:// URL (http:// only for hosts \
             allow-listed for http)"
        ));
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(
            "the callback URL must not hold a user name or password (user@host): send \
             credentials in a header such as Authorization"
                .into(),
        );
    }
    if authority.is_empty() {
        return Err(format!("callback destination `{url}` has no host"));
    }
    let (host, port) = parse_host_port(&authority.to_ascii_lowercase()).map_err(|why| {
        format!("callback destination `{url}` has an invalid host or port: {why}")
    })?;
    Ok(Destination {
        http,
        host,
        port: port.unwrap_or(if http { 80 } else { 443 }),
    })
}

/// `host[:port]` or `[v6][:port]`, lowercase.
fn parse_host_port(s: &str) -> Result<(Host, Option<u16>), &'static str> {
    if let Some(inner) = s.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or("`[` without `]`")?;
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| "not an IPv6 address in brackets")?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or("junk after `]`")?,
            )?),
        };
        return Ok((Host::V6(addr), port));
    }
    let (name, port) = split_port(s)?;
    let name = name.strip_suffix('.').unwrap_or(name);
    if !name.is_ascii() {
        return Err("write an internationalized host name in its punycode (xn--) form");
    }
    if !is_host_name(name) {
        return Err("a host name is dot-separated labels of letters, digits, - and _");
    }
    if is_ipv4_form(name) && !is_dotted_quad(name) {
        return Err("write an IPv4 address as four decimal numbers (a.b.c.d)");
    }
    Ok((Host::Name(name.to_owned()), port))
}

fn split_port(s: &str) -> Result<(&str, Option<u16>), &'static str> {
    match s.split_once(':') {
        None => Ok((s, None)),
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
    }
}

fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a port is a number from 1 to 65535");
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("a port is a number from 1 to 65535"),
    }
}

/// Dot-separated non-empty labels of `[a-z0-9_-]`, 253 bytes at most.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether a URL parser would read the host as an IPv4 address: its last
/// label is a number (decimal, or `0x` hex).
fn is_ipv4_form(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or("");
    let hex = last
        .strip_prefix("0x")
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex.is_some() || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// `a.b.c.d` with each part 0..=255 and no leading zero.
fn is_dotted_quad(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

// ---------------------------------------------------------------------------
// Retries

/// `x` within [0, 1]; NaN counts as 0.
fn clamp_unit(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// Seconds a `Retry-After` value asks for, from `now_s`; None when unparseable.
fn retry_after_s(value: &str, now_s: u64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse().unwrap_or(u64::MAX));
    }
    let at = http_date(value)?;
    Some(u64::try_from(at.saturating_sub(i64::try_from(now_s).ok()?)).unwrap_or(0))
}

/// Unix seconds of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(s: &str) -> Option<i64> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = s.as_bytes();
    if b.len() != 29 || !s.is_ascii() {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = &s[from..from + len];
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    if !DAYS.iter().any(|d| d.eq_ignore_ascii_case(&s[0..3]))
        || &s[3..5] != ", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || &s[25..] != " GMT"
    {
        return None;
    }
    let day = num(5, 2)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(&s[8..11]))? as u32
        + 1;
    let year = num(12, 4)?;
    let (hour, minute, second) = (num(17, 2)?, num(20, 2)?, num(23, 2)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Delivery {
    /// Attempts counted by the retry policy: those since the latest resend.
    pub fn policy_attempts(&self) -> u32 {
        (self.attempts.len() as u32).saturating_sub(self.attempt_base)
    }

    /// Records `attempt` and what its `verdict` makes of the delivery: its
    /// state, error and next attempt time (`now_ms` + the delay when it is
    /// retried). Returns the retry delay in seconds, or None when finished.
    pub fn record(&mut self, mut attempt: Attempt, verdict: &Verdict, now_ms: u64) -> Option<u64> {
        attempt.n = self.attempts.len() as u32 + 1;
        let (status, error) = (attempt.status, attempt.error.clone());
        self.attempts.push(attempt);
        self.next_attempt_at_ms = None;
        match verdict {
            Verdict::Delivered => {
                self.state = DELIVERED.into();
                self.error = None;
                None
            }
            Verdict::Dead => {
                self.state = DEAD.into();
                self.error = Some(format!("gave up after {} attempts", self.policy_attempts()));
                None
            }
            Verdict::Stop => {
                self.state = FAILED.into();
                self.error = Some(match status {
                    Some(410) => "the receiver answered 410 Gone".into(),
                    _ => error.unwrap_or_else(|| "stopped".into()),
                });
                None
            }
            Verdict::Retry { delay_s } => {
                self.next_attempt_at_ms = Some(now_ms + delay_s * 1000);
                Some(*delay_s)
            }
        }
    }
}
