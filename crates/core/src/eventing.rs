//! Eventing: events, subscription patterns, the replay buffer, webhook
//! subscriptions, the gateway's own events, and the limits of WebSocket
//! connections. Pure: the channel hub Durable Object does the I/O.

use crate::error::RestError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;

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

/// The bounded replay buffer of a channel's last events, oldest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Buffer {
    /// The events, oldest first.
    pub events: VecDeque<Event>,
}

/// What a reconnecting subscriber missed.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Events after `last_event_id`, oldest first.
    pub events: Vec<Event>,
    /// True when some were already dropped from the buffer: the subscriber
    /// missed more than it can be given.
    pub gap: bool,
}

impl Buffer {
    /// Appends, dropping the oldest beyond `cap`.
    /// A `cap` of 0 keeps nothing.
    pub fn push(&mut self, event: Event, cap: usize) {
        self.events.push_back(event);
        while self.events.len() > cap {
            self.events.pop_front();
        }
    }

    /// The events after `last_event_id` (a decimal id). An id that is not a
    /// number replays nothing and reports a gap.
    ///
    /// Ids are compared as numbers (`"9"` < `"10"`); only ASCII digits are
    /// a number (no sign, no spaces; leading zeros are fine). A gap is
    /// reported when the oldest buffered event comes after
    /// `last_event_id + 1`; an empty buffer, or a `last_event_id` at or past
    /// the newest event, reports none. Buffered events whose id is not a
    /// number are never replayed.
    pub fn since(&self, last_event_id: &str) -> Replay {
        let Some(last) = parse_id(last_event_id) else {
            return Replay {
                events: Vec::new(),
                gap: true,
            };
        };
        let events: Vec<Event> = self
            .events
            .iter()
            .filter(|e| parse_id(&e.id).is_some_and(|id| id > last))
            .cloned()
            .collect();
        let oldest = self.events.iter().find_map(|e| parse_id(&e.id));
        let gap = !events.is_empty() && oldest.is_some_and(|id| id > last.saturating_add(1));
        Replay { events, gap }
    }
}

/// A decimal event id: ASCII digits only, within `u64`.
fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
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
pub fn delivery_event(delivery: &crate::outbound::Delivery) -> Option<(&'static str, Value)> {
    use crate::outbound::DeliveryState;
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
