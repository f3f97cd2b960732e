//! `opts.callback`: the configuration of a channel's outbound callbacks,
//! its validation, and the header lines it holds.

use super::retry::{RetryPolicy, Schedule, Success, MAX_ATTEMPTS_LIMIT, MAX_DELAY_S};
use super::template::{is_ident, line_col, parse_template, pieces_at, Piece};
use crate::error::RestError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Longest body template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Built-in placeholders, always available.
pub const BUILTINS: [&str; 3] = ["CallbackId", "EventType", "EventDescription"];

/// `opts.callback` of a channel. The destination is the channel's `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    /// `GET`, `POST`, `PUT` or `PATCH` (default `POST`).
    #[serde(default)]
    pub method: HttpMethod,
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
    /// The retry policy of its deliveries.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Optional `whsec_…` secret: deliveries then carry Standard Webhooks headers.
    #[serde(default)]
    pub signing_secret: String,
    /// Optional key (16+ chars) that lets the channel's process call `…/send`
    /// with `Authorization: Bearer {process_key}` instead of the admin token.
    #[serde(default)]
    pub process_key: String,
    /// Corteos dictionaries, name → {code → value}: `@DIC:Name` renders the
    /// value of the code a send gives as its variable `Name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dictionaries: BTreeMap<String, BTreeMap<String, String>>,
    /// `unordered` (the default) or `fifo`: one delivery at a time, in send order.
    #[serde(default, skip_serializing_if = "Ordering::is_unordered")]
    pub ordering: Ordering,
    /// Circuit breaker: disable the destination after this many consecutive
    /// failed attempts (0: never, the default).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disable_after: u32,
    /// Circuit breaker: disable the destination when its failures have gone
    /// on for this many seconds without a success (0: never, the default).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disable_after_s: u64,
    /// Throttle: at most this many attempts a second to the destination
    /// (0: no limit, the default).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_per_s: u32,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// The order of a channel's deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// Each delivery on its own (the default): retries may overtake.
    #[default]
    Unordered,
    /// In send order: the next is not attempted until the one before is
    /// delivered, failed or dead.
    Fifo,
}

impl Ordering {
    fn is_unordered(&self) -> bool {
        *self == Ordering::Unordered
    }
}

/// Longest `disable_after` (consecutive failed attempts).
pub const MAX_DISABLE_AFTER: u32 = 10_000;
/// Longest `disable_after_s`: 30 days.
pub const MAX_DISABLE_AFTER_S: u64 = 30 * 86_400;
/// Highest `max_per_s`.
pub const MAX_PER_S: u32 = 1000;

/// The HTTP method of an outbound callback. JSON: the upper-case name
/// (`"GET"`, `"POST"`, `"PUT"`, `"PATCH"`); read back in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`: the rendered template is the URL's query; no body.
    Get,
    /// `POST` (the default).
    #[default]
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
}

impl HttpMethod {
    /// Every method a callback may use, in the order error messages list them.
    pub const ALL: [HttpMethod; 4] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
    ];

    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
        }
    }

    /// The method named `name` in any letter case; None for any other.
    pub fn parse(name: &str) -> Option<HttpMethod> {
        HttpMethod::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HttpMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        HttpMethod::parse(&name).ok_or_else(|| {
            serde::de::Error::unknown_variant(&name, &["GET", "POST", "PUT", "PATCH"])
        })
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
/// - Placeholders in `body` and header values follow [`render`](super::render)'s syntax;
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
/// - Delivery controls: `ordering` `"unordered"` (default) or `"fifo"`;
///   `disable_after` 0..=[`MAX_DISABLE_AFTER`] consecutive failed attempts,
///   `disable_after_s` 0..=[`MAX_DISABLE_AFTER_S`] seconds of failures
///   (the circuit breaker; 0 is off, the default); `max_per_s`
///   0..=[`MAX_PER_S`] attempts a second (0: no limit, the default).
/// - `dictionaries`: an object of dictionaries, each named
///   `[A-Za-z_][A-Za-z0-9_]*` and an object of codes to string values;
///   at most [`MAX_TEMPLATE_BYTES`] as JSON. A `@DIC:Name` placeholder
///   naming a dictionary that is not there is refused (with its place).
pub fn parse_config(v: &Value) -> Result<CallbackConfig, RestError> {
    let given = match v {
        Value::Object(m) => m,
        _ => return Err(bad("`opts.callback` must be an object")),
    };
    let mut config = CallbackConfig {
        method: HttpMethod::Post,
        headers: String::new(),
        body: String::new(),
        variables: Vec::new(),
        retry: RetryPolicy::default(),
        signing_secret: String::new(),
        process_key: String::new(),
        dictionaries: BTreeMap::new(),
        ordering: Ordering::Unordered,
        disable_after: 0,
        disable_after_s: 0,
        max_per_s: 0,
    };
    for (key, value) in given {
        let name = format!("opts.callback.{key}");
        match key.as_str() {
            "method" => {
                config.method = HttpMethod::parse(string(&name, value)?)
                    .ok_or_else(|| bad(format!("`{name}` must be GET, POST, PUT or PATCH")))?;
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
            "dictionaries" => config.dictionaries = parse_dictionaries(&name, value)?,
            "ordering" => {
                config.ordering = match string(&name, value)? {
                    "unordered" => Ordering::Unordered,
                    "fifo" => Ordering::Fifo,
                    _ => return Err(bad(format!("`{name}` must be \"unordered\" or \"fifo\""))),
                };
            }
            "disable_after" => {
                config.disable_after = whole(
                    &name,
                    value,
                    u64::from(MAX_DISABLE_AFTER),
                    "failed attempts",
                )? as u32;
            }
            "disable_after_s" => {
                config.disable_after_s = whole(&name, value, MAX_DISABLE_AFTER_S, "seconds")?;
            }
            "max_per_s" => {
                config.max_per_s =
                    whole(&name, value, u64::from(MAX_PER_S), "attempts a second")? as u32;
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

// ---------------------------------------------------------------------------
// Helpers

const FIELDS: [&str; 12] = [
    "method",
    "headers",
    "body",
    "variables",
    "retry",
    "signing_secret",
    "process_key",
    "dictionaries",
    "ordering",
    "disable_after",
    "disable_after_s",
    "max_per_s",
];
const RETRY_FIELDS: [&str; 5] = [
    "schedule",
    "interval_s",
    "max_attempts",
    "jitter",
    "success",
];
/// Headers the gateway (the Workers runtime) sets itself.
const RESERVED_HEADERS: [&str; 4] = ["Host", "Content-Length", "Transfer-Encoding", "Connection"];
/// An `exponential` schedule's jitter when `retry.jitter` is not given.
const EXPONENTIAL_JITTER: f64 = 0.2;
const MIN_SECRET_BYTES: usize = 16;
const MIN_PROCESS_KEY_CHARS: usize = 16;

fn bad(message: impl Into<String>) -> RestError {
    RestError::bad_request(message)
}

fn string<'a>(name: &str, value: &'a Value) -> Result<&'a str, RestError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Err(bad(format!("`{name}` cannot be null"))),
        _ => Err(bad(format!("`{name}` must be a string"))),
    }
}

/// A whole number from 0 (off) to `max`.
fn whole(name: &str, value: &Value, max: u64, unit: &str) -> Result<u64, RestError> {
    match value.as_u64() {
        Some(n) if n <= max => Ok(n),
        _ => Err(bad(format!(
            "`{name}` must be a whole number of {unit} from 0 (off) to {max}"
        ))),
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

fn parse_dictionaries(
    name: &str,
    value: &Value,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, RestError> {
    let given = match value {
        Value::Object(m) => m,
        Value::Null => return Err(bad(format!("`{name}` cannot be null"))),
        _ => {
            return Err(bad(format!(
                "`{name}` must be an object of dictionaries: {{\"Name\": {{\"code\": \"value\"}}}}"
            )))
        }
    };
    if value.to_string().len() > MAX_TEMPLATE_BYTES {
        return Err(bad(format!(
            "`{name}` is longer than {MAX_TEMPLATE_BYTES} bytes as JSON"
        )));
    }
    let mut out = BTreeMap::new();
    for (dict, codes) in given {
        if !is_ident(dict) {
            return Err(bad(format!(
                "`{name}`: the dictionary name `{dict}` is not valid: use letters, digits \
                 and _, not starting with a digit"
            )));
        }
        let Value::Object(codes) = codes else {
            return Err(bad(format!(
                "`{name}.{dict}` must be an object of codes to values"
            )));
        };
        let mut entries = BTreeMap::new();
        for (code, v) in codes {
            let Value::String(v) = v else {
                return Err(bad(format!(
                    "`{name}.{dict}`: the value of code `{code}` must be a string"
                )));
            };
            entries.insert(code.clone(), v.clone());
        }
        out.insert(dict.clone(), entries);
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
                policy.schedule = match string(&name, value)? {
                    "interval" => Schedule::Interval,
                    "exponential" => Schedule::Exponential,
                    _ => {
                        return Err(bad(format!(
                            "`{name}` must be \"interval\" or \"exponential\""
                        )))
                    }
                };
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
                    Value::String(s) if s == "200" => Success::Only200,
                    Value::String(s) if s.eq_ignore_ascii_case("2xx") => Success::Any2xx,
                    Value::Number(n) if n.as_u64() == Some(200) => Success::Only200,
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
    if policy.schedule == Schedule::Exponential && !jitter_given {
        policy.jitter = EXPONENTIAL_JITTER;
    }
    Ok(policy)
}

fn is_signing_secret(secret: &str) -> bool {
    // Padding optional, as `webhook::standard_signature` reads it.
    secret
        .strip_prefix("whsec_")
        .and_then(crate::b64::decode_lenient)
        .is_some_and(|key| key.len() >= MIN_SECRET_BYTES)
}

/// Syntax of the header values and body, and every placeholder declared or built in.
fn check_placeholders<'c>(config: &'c CallbackConfig) -> Result<(), RestError> {
    let lines =
        header_lines(&config.headers).map_err(|m| bad(format!("`opts.callback.headers` {m}")))?;
    // (name, where), in order of first use.
    let mut unknown: Vec<(&'c str, String)> = Vec::new();
    let mut unknown_dicts: Vec<(&'c str, String)> = Vec::new();
    let mut note = |piece: &Piece<'c>, place: &dyn Fn() -> String| match *piece {
        Piece::Var { name, .. } => {
            let known = BUILTINS.contains(&name) || config.variables.iter().any(|v| v == name);
            if !known && !unknown.iter().any(|(n, _)| *n == name) {
                unknown.push((name, place()));
            }
        }
        Piece::Dic { name, .. } => {
            if !config.dictionaries.contains_key(name)
                && !unknown_dicts.iter().any(|(n, _)| *n == name)
            {
                unknown_dicts.push((name, place()));
            }
        }
        Piece::Text(_) => {}
    };
    for line in &lines {
        let pieces = parse_template(line.value).map_err(|e| {
            bad(format!(
                "`opts.callback.headers` line {}: {}",
                line.no, e.message
            ))
        })?;
        for piece in &pieces {
            note(piece, &|| format!("headers line {}", line.no));
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
        note(piece, &|| {
            let (l, c) = line_col(&config.body, at);
            format!("body line {l}, column {c}")
        });
    }
    if !unknown_dicts.is_empty() {
        let listed: Vec<String> = unknown_dicts
            .iter()
            .map(|(name, place)| format!("@DIC:{name} ({place})"))
            .collect();
        return Err(bad(format!(
            "`opts.callback` uses unknown dictionaries: {}. Define each in \
             `opts.callback.dictionaries` ({{\"Name\": {{\"code\": \"value\"}}}})",
            listed.join(", ")
        )));
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
pub(super) struct HeaderLine<'a> {
    /// 1-based line number in `headers`.
    pub(super) no: usize,
    pub(super) name: &'a str,
    /// The value template, trimmed.
    pub(super) value: &'a str,
}

/// Why a line of `headers` is refused; its `Display` starts with `line N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HeaderLineError {
    /// No colon.
    NotNameValue { no: usize },
    /// The name is not an HTTP token.
    BadName { no: usize },
    /// A header the gateway sets itself (its canonical name).
    Reserved { no: usize, name: &'static str },
    /// The value holds a control character other than tab.
    ControlCharacter { no: usize, name: String },
}

impl std::fmt::Display for HeaderLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderLineError::NotNameValue { no } => write!(f, "line {no} is not `Name: value`"),
            HeaderLineError::BadName { no } => write!(
                f,
                "line {no}: the header name must be letters, digits or !#$%&'*+-.^_`|~ right \
                 before the colon (`Name: value`)"
            ),
            HeaderLineError::Reserved { no, name } => {
                write!(
                    f,
                    "line {no}: {name} is set by the gateway; remove the line"
                )
            }
            HeaderLineError::ControlCharacter { no, name } => write!(
                f,
                "line {no}: the value of header `{name}` holds a control character"
            ),
        }
    }
}

/// The `Name: value` lines of `headers`.
pub(super) fn header_lines(headers: &str) -> Result<Vec<HeaderLine<'_>>, HeaderLineError> {
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
            return Err(HeaderLineError::NotNameValue { no });
        };
        if !is_token(name) {
            return Err(HeaderLineError::BadName { no });
        }
        if let Some(reserved) = RESERVED_HEADERS
            .iter()
            .find(|r| r.eq_ignore_ascii_case(name))
        {
            return Err(HeaderLineError::Reserved { no, name: reserved });
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|c| c != '\t' && c.is_ascii_control()) {
            return Err(HeaderLineError::ControlCharacter {
                no,
                name: name.to_owned(),
            });
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
