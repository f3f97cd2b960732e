//! Outbound callbacks (Corteos's callbacks, with what Svix users expect):
//! per-channel configuration, `@Name` templates escaped for the body's
//! content type, the destination allow-list, the retry policy, and the
//! delivery record. Pure: the worker sends, queues and stores.

pub mod address;
pub mod config;
pub mod control;
pub mod destination;
pub mod lease;
pub mod recover;
pub mod retry;
pub mod send;
pub mod template;

pub use config::{
    parse_config, CallbackConfig, HttpMethod, Ordering, BUILTINS, MAX_DISABLE_AFTER,
    MAX_DISABLE_AFTER_S, MAX_PER_S, MAX_TEMPLATE_BYTES,
};
pub use destination::{
    check_destination, AllowList, AllowListError, DestinationError, ListKind, Refused,
};
pub use recover::{parse_recover, Recover, RECOVER_BATCH};
pub use retry::{
    decide, RetryPolicy, Schedule, Success, Verdict, DEFAULT_INTERVAL_S, DEFAULT_MAX_ATTEMPTS,
    MAX_ATTEMPTS_LIMIT, MAX_DELAY_S,
};
pub use send::{idempotency_key, prepare, send_variables, MAX_IDEMPOTENCY_KEY};
pub use template::{callback_id, render, Rendered};

use crate::error::RestError;
use serde::{Deserialize, Serialize};

/// Where a delivery stands. Its JSON form is the lowercase name
/// (`"pending"`, `"delivered"`, `"failed"`, `"dead"`), as stored in D1's
/// `deliveries.state` column and shown by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Attempts remain: a queue message (or the sweeper) will make the next one.
    Pending,
    /// The receiver accepted an attempt.
    Delivered,
    /// Stopped without using up its attempts (410 Gone, or a destination
    /// that left the allow-list); a resend restarts it.
    Failed,
    /// Its attempts were used up, or the queue gave up on its message; a
    /// resend restarts it.
    Dead,
}

impl DeliveryState {
    /// The state's name, as in JSON and in the `deliveries.state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Dead => "dead",
        }
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based number in the delivery's log.
    pub n: u32,
    /// ISO-8601 UTC.
    pub at: String,
    /// The receiver's HTTP status; None when no answer came (transport error, timeout, not sent).
    pub status: Option<u16>,
    /// From sending to the answer, in ms.
    pub latency_ms: u64,
    /// First 1 KB of the response body.
    pub response_excerpt: String,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A delivery, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// UUID, generated.
    pub id: String,
    /// The channel it belongs to.
    pub channel_id: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Creation time, ISO-8601 UTC.
    pub created_at: String,
    /// The `Idempotency-Key` of the send that made it, unique per channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The request each attempt sends.
    pub request: Rendered,
    /// The policy its attempts follow (copied from the channel when created).
    pub retry: RetryPolicy,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// Attempts made before the latest resend; the retry policy counts the rest.
    #[serde(default)]
    pub attempt_base: u32,
    /// Unix ms of the next attempt while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<u64>,
    /// Why it failed or died.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The type of the event a webhook subscription's delivery carries
    /// (absent for a send). A delivery carrying a gateway event
    /// (`gateway.…`) publishes no gateway event of its own when it fails or
    /// dies (see [`crate::eventing::delivery_event`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
}

impl Delivery {
    /// A new delivery, pending and due at once (`now_ms`), with no attempt
    /// yet: a send of the channel's template (`request` rendered by
    /// [`render`], `retry` the channel's policy, see
    /// [`RetryPolicy::for_channel`]) or an event for a webhook subscriber
    /// (`request` from [`Rendered::json_post`], no idempotency key).
    /// `created_at` is ISO-8601 UTC; `id` a fresh UUID.
    pub fn new(
        id: String,
        channel_id: String,
        request: Rendered,
        retry: RetryPolicy,
        idempotency_key: Option<String>,
        created_at: String,
        now_ms: u64,
    ) -> Delivery {
        Delivery {
            id,
            channel_id,
            state: DeliveryState::Pending,
            created_at,
            idempotency_key,
            request,
            retry,
            attempts: Vec::new(),
            attempt_base: 0,
            next_attempt_at_ms: Some(now_ms),
            error: None,
            event_type: None,
        }
    }

    /// The same delivery, marked as carrying an event of type `kind` to a
    /// webhook subscriber.
    pub fn carrying(mut self, kind: &str) -> Delivery {
        self.event_type = Some(kind.to_owned());
        self
    }

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
                self.state = DeliveryState::Delivered;
                self.error = None;
                None
            }
            Verdict::Dead => {
                self.state = DeliveryState::Dead;
                self.error = Some(format!("gave up after {} attempts", self.policy_attempts()));
                None
            }
            Verdict::Stop => {
                self.state = DeliveryState::Failed;
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

    /// Restarts a dead or failed delivery (`POST …/resend`): pending again,
    /// due at `now_ms`, its error cleared, and the attempts made so far no
    /// longer counted by the retry policy (the log keeps them). The store
    /// writes it under a new generation, so that no older message acts on it.
    /// Any other state is a 409 that names it.
    pub fn resend(&mut self, now_ms: u64) -> Result<(), RestError> {
        if self.state != DeliveryState::Dead && self.state != DeliveryState::Failed {
            return Err(RestError::conflict(format!(
                "Only a dead or failed delivery can be resent; this one is {}",
                self.state
            )));
        }
        self.state = DeliveryState::Pending;
        self.error = None;
        self.attempt_base = self.attempts.len() as u32;
        self.next_attempt_at_ms = Some(now_ms);
        Ok(())
    }

    /// `created_at` as Unix milliseconds: the `created_at_ms` column of the
    /// delivery's row, by which the delivery log is ordered (newest first,
    /// ties by id), so that the order always agrees with the `created_at`
    /// shown. None when `created_at` is not ISO-8601 UTC
    /// (`2026-11-23T06:00:00.000Z`, the milliseconds optional).
    pub fn created_at_ms(&self) -> Option<u64> {
        iso_ms(&self.created_at)
    }

    /// The `next_attempt_at_ms` column of the delivery's row: its next
    /// attempt while it has one, else 0.
    pub fn next_attempt_column(&self) -> u64 {
        self.next_attempt_at_ms.unwrap_or(0)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z` (the form `Date.toISOString` writes, years
/// 1970 to 9999) as Unix milliseconds.
pub(crate) fn iso_ms(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match &s[19..] {
        "Z" => 0,
        rest => {
            let frac = rest.strip_prefix('.')?.strip_suffix('Z')?;
            if frac.len() != 3 {
                return None;
            }
            num(20..23)?
        }
    };
    if year < 1970 || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let month_days = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    let days_before_year: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let days_before_month: u64 = month_days[..(month - 1) as usize].iter().sum();
    let days = days_before_year + days_before_month + day - 1;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}
