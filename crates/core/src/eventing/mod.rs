//! Eventing: events, subscription patterns, the replay buffer, webhook
//! subscriptions, the gateway's own events, and the limits of WebSocket
//! connections. Pure: the channel hub Durable Object does the I/O.

use crate::error::RestError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod buffer;
pub use buffer::*;

/// Longest event type, in characters.
pub const MAX_TYPE_LEN: usize = 128;
/// Most patterns in one subscription.
pub const MAX_PATTERNS: usize = 32;

/// WebSocket close codes (RFC 6455 §7.4.1). Close code of a connection
/// whose message is over `WS_MAX_MESSAGE_BYTES`.
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
/// Close code of a connection that sends messages too fast.
pub const CLOSE_POLICY_VIOLATION: u16 = 1008;
/// Close code of a connection beyond the channel's connection limit.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// An event as subscribers receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Decimal sequence number, increasing per channel from 1.
    pub id: String,
    /// Its type (`order.paid`), `type` in JSON.
    #[serde(rename = "type")]
    pub kind: String,
    /// ISO-8601 UTC.
    pub ts: String,
    /// Its data, a JSON object.
    pub data: Value,
}

/// Reads a publish body `{"type": "order.paid", "data": {…}}`: `type` is
/// dot-separated segments of `[A-Za-z0-9_-]`, at most [`MAX_TYPE_LEN`], and
/// must not start with `$` or `gateway.` (reserved for the gateway's own
/// events); `data` an object (absent: `{}`). Returns `(type, data)`.
///
/// Only the keys `type` and `data` are accepted; `type` is required;
/// `data: null` is taken as `{}`. Every error is a 400 naming the field.
pub fn parse_publish(body: &Value) -> Result<(String, Value), RestError> {
    let given = body
        .as_object()
        .ok_or_else(|| bad("The publish body must be a JSON object"))?;
    let mut kind = None;
    let mut data = Value::Object(Map::new());
    for (key, value) in given {
        match key.as_str() {
            "type" => {
                let t = match value {
                    Value::String(t) => t,
                    Value::Null => return Err(bad("`type` is required")),
                    _ => return Err(bad("`type` must be a string")),
                };
                if is_reserved(t) {
                    return Err(bad(
                        "`type` must not start with `$` or `gateway.`: those are reserved for \
                         the gateway's own events",
                    ));
                }
                check_type(t).map_err(|e| bad(e.message("`type`")))?;
                kind = Some(t.clone());
            }
            "data" => match value {
                Value::Null => {}
                Value::Object(_) => data = value.clone(),
                _ => return Err(bad("`data` must be a JSON object")),
            },
            _ => {
                return Err(bad(format!(
                    "`{key}` is not a known field (known: type, data)"
                )))
            }
        }
    }
    let kind = kind.ok_or_else(|| bad("`type` is required"))?;
    Ok((kind, data))
}

fn bad(message: impl Into<String>) -> RestError {
    RestError::bad_request(message)
}

/// Longest webhook subscription URL, in characters.
const MAX_URL_LEN: usize = 2048;

/// True for the types of the gateway's own events (`gateway.…`).
pub fn is_gateway_type(kind: &str) -> bool {
    kind.starts_with("gateway.")
}

/// Types the gateway keeps for its own events.
fn is_reserved(kind: &str) -> bool {
    kind.starts_with('$') || kind.starts_with("gateway.")
}

/// Why a string is not an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeError {
    Empty,
    TooLong,
    Grammar,
}

impl TypeError {
    /// The message for the field `label` (already quoted).
    fn message(self, label: &str) -> String {
        match self {
            TypeError::Empty => format!("{label} must not be empty"),
            TypeError::TooLong => format!("{label} is longer than {MAX_TYPE_LEN} characters"),
            TypeError::Grammar => format!(
                "{label} must be segments of letters, digits, `_` and `-` separated by single \
                 dots (such as order.paid)"
            ),
        }
    }
}

/// Checks the grammar of an event type (reserved prefixes aside): non-empty,
/// at most [`MAX_TYPE_LEN`] characters, segments of `[A-Za-z0-9_-]`
/// separated by single dots.
fn check_type(kind: &str) -> Result<(), TypeError> {
    if kind.is_empty() {
        return Err(TypeError::Empty);
    }
    if kind.chars().count() > MAX_TYPE_LEN {
        return Err(TypeError::TooLong);
    }
    let segment_ok = |seg: &str| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !kind.split('.').all(segment_ok) {
        return Err(TypeError::Grammar);
    }
    Ok(())
}

/// Reads a list of patterns: exact types, `prefix.*` (any type under the
/// prefix, at any depth) or `*` (everything). At most [`MAX_PATTERNS`].
/// An empty list means everything.
///
/// Each pattern is trimmed; an exact type or prefix follows the grammar of
/// types (reserved `gateway.` types may be named: subscribers can listen to
/// the gateway's events). Any other `*` is refused. Duplicates are dropped,
/// keeping the first; the limit counts distinct patterns. Errors are 400s
/// naming `events[i]` (the index in `patterns`).
pub fn parse_patterns(patterns: &[String]) -> Result<Vec<String>, RestError> {
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in patterns.iter().enumerate() {
        let pattern = raw.trim();
        let name = format!("events[{i}]");
        if pattern.is_empty() {
            return Err(bad(format!("`{name}` must not be empty")));
        }
        if pattern != "*" {
            let base = pattern.strip_suffix(".*").unwrap_or(pattern);
            match check_type(base) {
                Ok(()) => {}
                Err(TypeError::TooLong) => {
                    return Err(bad(TypeError::TooLong.message(&format!("`{name}`"))))
                }
                Err(_) => {
                    // Quoted (escaped) when short, to say which one.
                    let shown = if pattern.chars().count() <= MAX_TYPE_LEN + 2 {
                        format!(" ({pattern:?})")
                    } else {
                        String::new()
                    };
                    return Err(bad(format!(
                        "`{name}`{shown} must be *, an event type (order.paid) or a type \
                         followed by .* (order.*): segments of letters, digits, `_` and `-` \
                         separated by single dots, and no other wildcards"
                    )));
                }
            }
        }
        if out.iter().any(|p| p == pattern) {
            continue;
        }
        if out.len() == MAX_PATTERNS {
            return Err(bad(format!(
                "`events` holds more than {MAX_PATTERNS} patterns"
            )));
        }
        out.push(pattern.to_owned());
    }
    Ok(out)
}

/// The `events` query parameter of a WebSocket subscription: patterns
/// separated by commas.
/// Items are trimmed and empty ones skipped; absent or empty means all.
pub fn patterns_from_query(value: Option<&str>) -> Result<Vec<String>, RestError> {
    let items: Vec<String> = value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect();
    parse_patterns(&items)
}

/// True when `kind` matches one of `patterns` (an empty list matches all).
/// `prefix.*` matches types under `prefix.` (at least one more segment),
/// not `prefix` itself. Matching is case-sensitive.
pub fn matches(patterns: &[String], kind: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| pattern_matches(p, kind))
}

fn pattern_matches(pattern: &str, kind: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') && prefix.len() > 1 => {
            kind.len() > prefix.len() && kind.starts_with(prefix)
        }
        _ => pattern == kind,
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// UUID, generated.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Patterns of the events wanted ([`parse_patterns`]); empty means all.
    pub events: Vec<String>,
    /// Creation time, ISO-8601 UTC.
    pub created_at: String,
}

/// Reads a subscribe body `{"url": "https://…", "events": ["pattern", …]}`
/// (only those two keys; `url` required, http(s); `events` optional). The
/// allow-list is checked by the caller.
///
/// `url`: a string starting with `http://` or `https://` (any case), with a
/// host after the scheme, no whitespace or control characters, at most 2048
/// characters. `events`: an array of strings read by [`parse_patterns`];
/// absent or `null` means all events. Errors are 400s naming the field.
pub fn parse_subscription(
    body: &Value,
    id: String,
    now_iso: &str,
) -> Result<Subscription, RestError> {
    let given = body
        .as_object()
        .ok_or_else(|| bad("The subscribe body must be a JSON object"))?;
    let mut url = None;
    let mut events = Vec::new();
    for (key, value) in given {
        match key.as_str() {
            "url" => {
                let u = match value {
                    Value::String(u) => u,
                    Value::Null => return Err(bad("`url` is required")),
                    _ => return Err(bad("`url` must be a string")),
                };
                check_url(u)?;
                url = Some(u.clone());
            }
            "events" => match value {
                Value::Null => {}
                Value::Array(items) => {
                    let mut patterns = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::String(p) => patterns.push(p.clone()),
                            _ => return Err(bad(format!("`events[{i}]` must be a string"))),
                        }
                    }
                    events = parse_patterns(&patterns)?;
                }
                _ => return Err(bad("`events` must be an array of strings")),
            },
            _ => {
                return Err(bad(format!(
                    "`{key}` is not a known field (known: url, events)"
                )))
            }
        }
    }
    let url = url.ok_or_else(|| bad("`url` is required"))?;
    Ok(Subscription {
        id,
        url,
        events,
        created_at: now_iso.to_owned(),
    })
}

fn check_url(url: &str) -> Result<(), RestError> {
    if url.chars().count() > MAX_URL_LEN {
        return Err(bad(format!(
            "`url` is longer than {MAX_URL_LEN} characters"
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "`url` must not contain whitespace or control characters",
        ));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(bad("`url` must be an http:// or https:// URL"));
    };
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return Err(bad("`url` must name a host after http:// or https://"));
    }
    Ok(())
}

/// A decimal event id: ASCII digits only, within `u64`.
pub fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// An event's JSON as subscribers receive it, written around `data_json`
/// (its data, already serialised as compact JSON) without parsing it again:
/// the same text as `serde_json::to_string` of the [`Event`] `{id, kind, ts,
/// data}` (the keys in that order, `id` a decimal string).
pub fn event_json(id: u64, kind: &str, ts: &str, data_json: &str) -> String {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let (kind, ts) = (quoted(kind), quoted(ts));
    let mut out = String::with_capacity(40 + kind.len() + ts.len() + data_json.len());
    out.push_str("{\"id\":\"");
    out.push_str(&id.to_string());
    out.push_str("\",\"type\":");
    out.push_str(&kind);
    out.push_str(",\"ts\":");
    out.push_str(&ts);
    out.push_str(",\"data\":");
    out.push_str(data_json);
    out.push('}');
    out
}

/// Whether a subscriber with `patterns` wants every event (none given, or
/// `*` among them): the hub then sends it everything without matching.
pub fn wants_all(patterns: &[String]) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p == "*")
}

/// Checks the size of an event about to be published: its `type` plus its
/// `data` as (compact) JSON must be at most `max_bytes` (`EVENT_MAX_BYTES`),
/// else a 413 that names the limit.
pub fn check_event_size(kind: &str, data: &Value, max_bytes: usize) -> Result<(), RestError> {
    let data_len = serde_json::to_string(data).map_or(0, |s| s.len());
    check_event_len(kind, data_len, max_bytes)
}

/// [`check_event_size`] for data already serialised: `data_len` is the
/// length of its compact JSON.
pub fn check_event_len(kind: &str, data_len: usize, max_bytes: usize) -> Result<(), RestError> {
    let size = kind.len() + data_len;
    if size > max_bytes {
        return Err(RestError::new(
            413,
            format!(
                "The event is larger than {max_bytes} bytes (EVENT_MAX_BYTES counts its type \
                 and its data as JSON)"
            ),
        ));
    }
    Ok(())
}

/// Longest string field of a gateway event, in bytes of its JSON form
/// (without the quotes): longer ones are cut by [`gateway_data`].
pub const GATEWAY_FIELD_MAX_BYTES: usize = 1024;

/// What ends a string cut by [`gateway_data`].
pub const TRUNCATION_MARK: &str = "…";

/// A gateway event's `data` made to fit any `EVENT_MAX_BYTES`: every string
/// in it (at any depth) whose JSON form (escaped, without the quotes) is
/// longer than [`GATEWAY_FIELD_MAX_BYTES`] is cut at a character boundary
/// and ends with [`TRUNCATION_MARK`], the whole within that length; the
/// names of the cut top-level fields are listed, in order, in a
/// `"truncated"` array added to `data` (absent when nothing was cut). Other
/// values are kept as they are. Gateway events have a handful of fields, so
/// the result is far below [`crate::config::MIN_EVENT_MAX_BYTES`].
pub fn gateway_data(data: Value) -> Value {
    match data {
        Value::Object(map) => {
            let mut cut = Vec::new();
            let mut out = Map::new();
            for (key, value) in map {
                let (value, was_cut) = fit_value(value);
                if was_cut {
                    cut.push(Value::String(key.clone()));
                }
                out.insert(key, value);
            }
            if !cut.is_empty() {
                out.insert("truncated".into(), Value::Array(cut));
            }
            Value::Object(out)
        }
        other => fit_value(other).0,
    }
}

/// A value with its long strings cut; true when something was.
fn fit_value(value: Value) -> (Value, bool) {
    match value {
        Value::String(s) => match fit_string(&s, GATEWAY_FIELD_MAX_BYTES) {
            Some(cut) => (Value::String(cut), true),
            None => (Value::String(s), false),
        },
        Value::Array(items) => {
            let mut any = false;
            let items = items
                .into_iter()
                .map(|v| {
                    let (v, c) = fit_value(v);
                    any |= c;
                    v
                })
                .collect();
            (Value::Array(items), any)
        }
        Value::Object(map) => {
            let mut any = false;
            let map = map
                .into_iter()
                .map(|(k, v)| {
                    let (v, c) = fit_value(v);
                    any |= c;
                    (k, v)
                })
                .collect();
            (Value::Object(map), any)
        }
        other => (other, false),
    }
}

/// Bytes `c` takes in a JSON string (escaped as serde_json does).
fn json_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{08}' | '\u{0C}' | '\n' | '\r' | '\t' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// `s` cut so that its JSON form, [`TRUNCATION_MARK`] included, takes at
/// most `max` bytes; None when it already fits whole.
fn fit_string(s: &str, max: usize) -> Option<String> {
    if s.chars().map(json_len).sum::<usize>() <= max {
        return None;
    }
    let budget = max.saturating_sub(TRUNCATION_MARK.len());
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let n = json_len(c);
        if used + n > budget {
            break;
        }
        used += n;
        end = i + c.len_utf8();
    }
    Some(format!("{}{TRUNCATION_MARK}", &s[..end]))
}

/// Types of the events the gateway publishes for a channel's traffic (to
/// its `opts.eventing_channel`). A webhook request arrived.
pub const WEBHOOK_RECEIVED: &str = "gateway.webhook.received";
/// A sync or async webhook was answered, or its event taken.
pub const WEBHOOK_ANSWERED: &str = "gateway.webhook.answered";
/// A sync webhook's process did not answer in time.
pub const WEBHOOK_TIMED_OUT: &str = "gateway.webhook.timed_out";
/// A webhook's event could not be handed over, or its answer was unusable.
pub const WEBHOOK_FAILED: &str = "gateway.webhook.failed";
/// A delivery stopped without using up its attempts (410 Gone, destination refused).
pub const DELIVERY_FAILED: &str = "gateway.delivery.failed";
/// A delivery used up its attempts (or the queue gave up on it).
pub const DELIVERY_DEAD: &str = "gateway.delivery.dead";
/// A destination's circuit breaker disabled it (`opts.callback.disable_after`
/// or `disable_after_s`): its deliveries wait until it is re-enabled.
pub const DESTINATION_DISABLED: &str = "gateway.destination.disabled";

/// A per-connection message rate limiter: a token bucket holding at most
/// `per_second` tokens, refilled continuously at `per_second` tokens a
/// second. It starts full, so a connection may burst `per_second` messages
/// at once, then sustain `per_second` a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimiter {
    /// Tokens left; may be fractional.
    pub tokens: f64,
    /// Unix ms of the latest refill.
    pub last_ms: u64,
}

impl RateLimiter {
    /// A full bucket at `now_ms`.
    pub fn new(per_second: u32, now_ms: u64) -> Self {
        RateLimiter {
            tokens: f64::from(per_second),
            last_ms: now_ms,
        }
    }

    /// Takes one token at `now_ms`; false when the connection is over its rate.
    ///
    /// A `per_second` of 0 never allows. A clock that goes backwards refills
    /// nothing, and `last_ms` never moves back, so the time is not counted
    /// twice when the clock catches up.
    pub fn allow(&mut self, per_second: u32, now_ms: u64) -> bool {
        let capacity = f64::from(per_second);
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        // A state read back from storage may hold anything.
        let tokens = if self.tokens.is_finite() {
            self.tokens.max(0.0)
        } else {
            0.0
        };
        self.tokens = (tokens + elapsed as f64 * capacity / 1000.0).min(capacity);
        // Tolerates the rounding of many small fractional refills.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }
}

/// The gateway event that reports a webhook request's outcome.
pub fn webhook_event_type(outcome: crate::request_log::Outcome) -> &'static str {
    use crate::request_log::Outcome;
    match outcome {
        Outcome::Answered | Outcome::Accepted => WEBHOOK_ANSWERED,
        Outcome::TimedOut => WEBHOOK_TIMED_OUT,
        Outcome::Failed | Outcome::NoProcess => WEBHOOK_FAILED,
    }
}

/// The gateway event that reports a delivery's end, once an attempt is
/// recorded: [`DELIVERY_DEAD`] or [`DELIVERY_FAILED`] with `{delivery_id,
/// attempts, error}` (`attempts` counts every attempt in the log); None
/// while it is pending or once delivered. The publisher adds `channel_id`.
///
/// None too for a delivery that carries a gateway event itself (its
/// `event_type` is a `gateway.…` type): reporting its end would publish a
/// gateway event about a gateway event, which a failing subscriber to it
/// would turn into another, and so on.
pub fn delivery_event(delivery: &crate::outbound::Delivery) -> Option<(&'static str, Value)> {
    use crate::outbound::DeliveryState;
    if delivery.event_type.as_deref().is_some_and(is_gateway_type) {
        return None;
    }
    let kind = match delivery.state {
        DeliveryState::Dead => DELIVERY_DEAD,
        DeliveryState::Failed => DELIVERY_FAILED,
        DeliveryState::Pending | DeliveryState::Delivered => return None,
    };
    Some((
        kind,
        serde_json::json!({
            "delivery_id": delivery.id,
            "attempts": delivery.attempts.len(),
            "error": delivery.error,
        }),
    ))
}
