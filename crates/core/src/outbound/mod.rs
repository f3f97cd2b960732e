//! Outbound callbacks (Corteos's callbacks, with what Svix users expect):
//! per-channel configuration, `@Name` templates escaped for the body's
//! content type, the destination allow-list, the retry policy, and the
//! delivery record. Pure: the worker sends, queues and stores.

pub mod config;
pub mod destination;
pub mod retry;
pub mod template;

pub use config::{parse_config, CallbackConfig, BUILTINS, MAX_TEMPLATE_BYTES};
pub use destination::check_destination;
pub use retry::{
    decide, RetryPolicy, Verdict, DEFAULT_INTERVAL_S, DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_LIMIT,
    MAX_DELAY_S,
};
pub use template::{callback_id, render, Rendered};

use serde::{Deserialize, Serialize};

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
