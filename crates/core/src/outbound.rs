//! Outbound callbacks (Corteos's callbacks, with what Svix users expect):
//! per-channel configuration, `@Name` templates escaped for the body's
//! content type, the destination allow-list, the retry policy, and the
//! delivery record. Pure: the worker sends, queues and stores.

use crate::error::RestError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
pub fn parse_config(_v: &Value) -> Result<CallbackConfig, RestError> {
    todo!("helper: outbound::parse_config")
}

/// Checks `url` against the allow-list (`CALLBACK_ALLOWED_HOSTS`: comma- or
/// whitespace-separated entries, each `host`, `*.domain`, `http://host` or
/// `http://*.domain`; a port in the URL is allowed by its host's entry).
/// `https://` is required unless the matching entry starts with `http://`.
/// The error says why, for a 400 at save time or a failed delivery at send time.
pub fn check_destination(_url: &str, _allowed_hosts: &str) -> Result<(), String> {
    todo!("helper: outbound::check_destination")
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
pub fn render(
    _config: &CallbackConfig,
    _url: &str,
    _vars: &Map<String, Value>,
    _callback_id: &str,
) -> Result<Rendered, RestError> {
    todo!("helper: outbound::render")
}

/// Corteos's `@CallbackId`: .NET ticks (100 ns since 0001-01-01) of `now_ms`.
pub fn callback_id(_now_ms: u64) -> String {
    todo!("helper: outbound::callback_id")
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
pub fn decide(
    _policy: &RetryPolicy,
    _attempt: u32,
    _status: Option<u16>,
    _retry_after: Option<&str>,
    _now_s: u64,
    _random: f64,
) -> Verdict {
    todo!("helper: outbound::decide")
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
