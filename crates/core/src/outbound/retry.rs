//! The retry policy: schedules, jitter, success codes, `Retry-After` (in
//! seconds or as an HTTP date), and the verdict on one attempt.

use serde::{Deserialize, Serialize};

/// Default retry interval (Corteos: every 5 minutes).
pub const DEFAULT_INTERVAL_S: u64 = 300;
/// Default attempt count (Corteos: at most 10).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Largest delay between attempts (a Cloudflare Queues per-message limit: 12 h).
pub const MAX_DELAY_S: u64 = 12 * 3600;
/// Largest attempt count accepted.
pub const MAX_ATTEMPTS_LIMIT: u32 = 100;

/// How the delay between attempts grows. JSON: `"interval"` or `"exponential"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Every `interval_s`.
    #[default]
    Interval,
    /// `interval_s` × 2^(n−1) before attempt n + 1, capped at [`MAX_DELAY_S`].
    Exponential,
}

impl Schedule {
    /// The schedule's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Interval => "interval",
            Schedule::Exponential => "exponential",
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which answers count as accepted. JSON: `"200"` or `"2xx"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Success {
    /// Only HTTP 200 (Corteos's rule).
    #[default]
    #[serde(rename = "200")]
    Only200,
    /// Any 2xx.
    #[serde(rename = "2xx")]
    Any2xx,
}

impl Success {
    /// The rule's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Success::Only200 => "200",
            Success::Any2xx => "2xx",
        }
    }

    /// True when an answer with `status` is accepted.
    pub fn accepts(self, status: u16) -> bool {
        match self {
            Success::Only200 => status == 200,
            Success::Any2xx => (200..=299).contains(&status),
        }
    }
}

impl std::fmt::Display for Success {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel's retry policy (`opts.callback.retry`), copied into each delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// How the delay grows between attempts.
    pub schedule: Schedule,
    /// The first delay, in seconds (1..=[`MAX_DELAY_S`]).
    pub interval_s: u64,
    /// Most attempts (1..=[`MAX_ATTEMPTS_LIMIT`]).
    pub max_attempts: u32,
    /// Random extra delay of up to this fraction of each delay (0 = none; exponential default 0.2).
    pub jitter: f64,
    /// Which answers count as accepted.
    pub success: Success,
}

impl RetryPolicy {
    /// The policy of `channel`'s deliveries: its `opts.callback.retry`, or
    /// the default when it has no callback configuration (or is gone).
    pub fn for_channel(channel: Option<&crate::channel::Channel>) -> RetryPolicy {
        channel
            .and_then(|c| c.opts.callback.as_ref())
            .map(|c| c.retry.clone())
            .unwrap_or_default()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            schedule: Schedule::Interval,
            interval_s: DEFAULT_INTERVAL_S,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            jitter: 0.0,
            success: Success::Only200,
        }
    }
}

/// What one attempt's result means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted: the delivery is done.
    Delivered,
    /// Try again later.
    Retry {
        /// Seconds to wait.
        delay_s: u64,
    },
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
/// [`MAX_DELAY_S`].
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    status: Option<u16>,
    retry_after: Option<&str>,
    now_s: u64,
    random: f64,
) -> Verdict {
    if let Some(status) = status {
        if policy.success.accepts(status) {
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
    let delay = match policy.schedule {
        Schedule::Exponential => {
            let factor = 1u64
                .checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u64::MAX);
            base.saturating_mul(factor).min(MAX_DELAY_S)
        }
        Schedule::Interval => base,
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

// ---------------------------------------------------------------------------
// Helpers

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
