//! Eventing: events, subscription patterns, the replay buffer, webhook
//! subscriptions, the gateway's own events, and the limits of WebSocket
//! connections. Pure: the channel hub Durable Object does the I/O.

use crate::error::RestError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;

/// Longest event type, in characters.
pub const MAX_TYPE_LEN: usize = 128;
/// Most patterns in one subscription.
pub const MAX_PATTERNS: usize = 32;
/// Events kept for replay (`last_event_id`), per channel.
pub const DEFAULT_BUFFER: usize = 1000;

/// WebSocket close codes (RFC 6455 §7.4.1).
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
pub const CLOSE_POLICY_VIOLATION: u16 = 1008;
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// An event as subscribers receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Decimal sequence number, increasing per channel from 1.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// ISO-8601 UTC.
    pub ts: String,
    pub data: Value,
}

/// Reads a publish body `{"type": "order.paid", "data": {…}}`: `type` is
/// dot-separated segments of `[A-Za-z0-9_-]`, at most [`MAX_TYPE_LEN`], and
/// must not start with `$` or `gateway.` (reserved for the gateway's own
/// events); `data` an object (absent: `{}`). Returns `(type, data)`.
pub fn parse_publish(_body: &Value) -> Result<(String, Value), RestError> {
    todo!("helper: eventing::parse_publish")
}

/// Reads a list of patterns: exact types, `prefix.*` (any type under the
/// prefix, at any depth) or `*` (everything). At most [`MAX_PATTERNS`].
/// An empty list means everything.
pub fn parse_patterns(_patterns: &[String]) -> Result<Vec<String>, RestError> {
    todo!("helper: eventing::parse_patterns")
}

/// The `events` query parameter of a WebSocket subscription: patterns
/// separated by commas.
pub fn patterns_from_query(_value: Option<&str>) -> Result<Vec<String>, RestError> {
    todo!("helper: eventing::patterns_from_query")
}

/// True when `kind` matches one of `patterns` (an empty list matches all).
pub fn matches(_patterns: &[String], _kind: &str) -> bool {
    todo!("helper: eventing::matches")
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: String,
}

/// Reads a subscribe body `{"url": "https://…", "events": ["pattern", …]}`
/// (only those two keys; `url` required, http(s); `events` optional). The
/// allow-list is checked by the caller.
pub fn parse_subscription(
    _body: &Value,
    _id: String,
    _now_iso: &str,
) -> Result<Subscription, RestError> {
    todo!("helper: eventing::parse_subscription")
}

/// The bounded replay buffer of a channel's last events, oldest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Buffer {
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
    pub fn push(&mut self, _event: Event, _cap: usize) {
        todo!("helper: Buffer::push")
    }

    /// The events after `last_event_id` (a decimal id). An id that is not a
    /// number replays nothing and reports a gap.
    pub fn since(&self, _last_event_id: &str) -> Replay {
        todo!("helper: Buffer::since")
    }
}

/// Types of the events the gateway publishes for a channel's traffic.
pub const WEBHOOK_RECEIVED: &str = "gateway.webhook.received";
pub const WEBHOOK_ANSWERED: &str = "gateway.webhook.answered";
pub const WEBHOOK_TIMED_OUT: &str = "gateway.webhook.timed_out";
pub const WEBHOOK_FAILED: &str = "gateway.webhook.failed";
pub const DELIVERY_FAILED: &str = "gateway.delivery.failed";
pub const DELIVERY_DEAD: &str = "gateway.delivery.dead";

/// A per-connection message rate limiter: at most `per_second` messages in
/// any one-second window (a token bucket refilled continuously).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimiter {
    pub tokens: f64,
    pub last_ms: u64,
}

impl RateLimiter {
    pub fn new(_per_second: u32, _now_ms: u64) -> Self {
        todo!("helper: RateLimiter::new")
    }

    /// Takes one token at `now_ms`; false when the connection is over its rate.
    pub fn allow(&mut self, _per_second: u32, _now_ms: u64) -> bool {
        todo!("helper: RateLimiter::allow")
    }
}
