//! Delivery controls of a destination (a channel's `url`): FIFO order, the
//! circuit breaker and the throttle. A channel with any of them has its
//! deliveries driven by one serialising owner (the worker's `Destination`
//! Durable Object, one per channel); a channel with none keeps the plain
//! queue path. The rules are here: which pending delivery may go now, when
//! the next attempt may start, and when the destination is disabled.

use super::{CallbackConfig, Ordering};
use serde::{Deserialize, Serialize};

/// A channel's delivery controls, when it has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Controls {
    /// One delivery at a time, in send order.
    pub fifo: bool,
    /// Attempts a second (0: no limit).
    pub max_per_s: u32,
    /// Disable after this many consecutive failed attempts (0: never).
    pub disable_after: u32,
    /// Disable when failures have gone on this many seconds (0: never).
    pub disable_after_s: u64,
}

impl Controls {
    /// The controls of `config`; None when it uses none of them (or there is
    /// no configuration): its deliveries take the plain queue path.
    pub fn of(config: Option<&CallbackConfig>) -> Option<Controls> {
        let c = config?;
        let controls = Controls {
            fifo: c.ordering == Ordering::Fifo,
            max_per_s: c.max_per_s,
            disable_after: c.disable_after,
            disable_after_s: c.disable_after_s,
        };
        (controls.fifo
            || controls.max_per_s > 0
            || controls.disable_after > 0
            || controls.disable_after_s > 0)
            .then_some(controls)
    }
}

/// A pending delivery as the owner sees it: when it is due (the
/// delivery's `next_attempt_at_ms`: its send or resend, or its retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// Unix ms it may be attempted from.
    pub due_ms: u64,
}

/// What the owner does next with a destination's pending deliveries
/// (given oldest first, in send order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Attempt these (indexes into the pending list), each at its slot.
    Attempt(Vec<usize>),
    /// Nothing is due before this Unix ms: wake then.
    WaitUntil(u64),
    /// Nothing pending.
    Idle,
}

/// The next step at `now_ms`. FIFO: only the oldest pending delivery may
/// go, once due (a retrying head holds the rest back until it is
/// delivered, failed or dead; a dead one is no longer pending, so the rest
/// go on). Unordered: every due one, at most `batch`.
pub fn pick(c: &Controls, pending: &[Waiting], now_ms: u64, batch: usize) -> Pick {
    let Some(first) = pending.first() else {
        return Pick::Idle;
    };
    if c.fifo {
        return if first.due_ms <= now_ms {
            Pick::Attempt(vec![0])
        } else {
            Pick::WaitUntil(first.due_ms)
        };
    }
    let due: Vec<usize> = pending
        .iter()
        .enumerate()
        .filter(|(_, w)| w.due_ms <= now_ms)
        .map(|(i, _)| i)
        .take(batch.max(1))
        .collect();
    if due.is_empty() {
        Pick::WaitUntil(pending.iter().map(|w| w.due_ms).min().unwrap_or(now_ms))
    } else {
        Pick::Attempt(due)
    }
}

/// Why a destination was disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledBy {
    /// `disable_after` consecutive failed attempts.
    ConsecutiveFailures,
    /// Failures for `disable_after_s` without a success.
    FailingFor,
}

/// A destination's state, as its owner stores it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DestinationState {
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
    /// Unix ms of the first failure since the last success.
    pub failing_since_ms: Option<u64>,
    /// Unix ms it was disabled at; None while enabled.
    pub disabled_at_ms: Option<u64>,
    /// Why, while disabled.
    pub disabled_by: Option<DisabledBy>,
    /// The throttle: the earliest start of the next attempt, in Unix µs.
    pub next_slot_us: u64,
}

impl DestinationState {
    /// True while disabled: no attempts; its deliveries wait, pending.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at_ms.is_some()
    }

    /// Records an attempt's outcome at `now_ms` (`failed`: anything but
    /// delivered). A success clears the failures; a failure counts, and
    /// disables the destination when it makes `disable_after` in a row, or
    /// when the failures have gone on `disable_after_s` or longer. True
    /// when this attempt disabled it.
    pub fn record(&mut self, c: &Controls, failed: bool, now_ms: u64) -> bool {
        if !failed {
            self.failures = 0;
            self.failing_since_ms = None;
            return false;
        }
        self.failures = self.failures.saturating_add(1);
        let since = *self.failing_since_ms.get_or_insert(now_ms);
        if self.is_disabled() {
            return false;
        }
        let by = if c.disable_after > 0 && self.failures >= c.disable_after {
            Some(DisabledBy::ConsecutiveFailures)
        } else if c.disable_after_s > 0
            && now_ms.saturating_sub(since) >= c.disable_after_s.saturating_mul(1000)
        {
            Some(DisabledBy::FailingFor)
        } else {
            None
        };
        if by.is_some() {
            self.disabled_at_ms = Some(now_ms);
            self.disabled_by = by;
        }
        by.is_some()
    }

    /// Re-enables it (the API or the console): the failures are forgotten
    /// and its waiting deliveries go again, in order.
    pub fn enable(&mut self) {
        self.failures = 0;
        self.failing_since_ms = None;
        self.disabled_at_ms = None;
        self.disabled_by = None;
    }

    /// The throttle: takes the next attempt's start slot at `now_ms`, in
    /// Unix ms. Slots are spaced evenly, `1 s / max_per_s` apart, so the
    /// rate is `max_per_s`; a schedule that fell behind (the pause between
    /// two waves of attempts: their records, the next read) may keep up to
    /// [`SLOT_CREDIT_MS`] less one spacing of slots in the past, so that,
    /// with now's, `max_per_s` slots are due at once (a token bucket
    /// holding `max_per_s`), started no faster than [`wait_before_start`]
    /// allows, so that the pauses do not lower the rate. With no limit, now.
    pub fn take_slot(&mut self, c: &Controls, now_ms: u64) -> u64 {
        if c.max_per_s == 0 {
            return now_ms;
        }
        let spacing_us = 1_000_000 / u64::from(c.max_per_s);
        let now_us = now_ms.saturating_mul(1000);
        // One second back would make `max_per_s + 1` slots due at once
        // (both ends of the second): 11 starts in a closed second at 5/s,
        // which a little jitter on the way shows as 11 within a second.
        let floor_us = now_us.saturating_sub((SLOT_CREDIT_MS * 1000).saturating_sub(spacing_us));
        let slot_us = self.next_slot_us.max(floor_us);
        self.next_slot_us = slot_us + spacing_us;
        slot_us.div_ceil(1000)
    }
}

/// How far behind `now` the throttle's schedule may lag and catch up: one
/// second's worth of slots, now's included (a token bucket holding
/// `max_per_s`).
pub const SLOT_CREDIT_MS: u64 = 1000;

/// The `next_attempt_at_ms` column of a pending delivery whose channel has
/// controls: its owner (the channel's Durable Object) drives it, so it is
/// never overdue for the sweeper, which re-queues lost queue messages
/// only. The sweeper instead wakes the owner of each channel that has such
/// deliveries pending (a safety net for a lost wake-up). When it is due is
/// the delivery's own `next_attempt_at_ms`. 2^53 − 1, exact in JavaScript
/// numbers (D1's bindings).
pub const OWNED_MS: u64 = (1 << 53) - 1;

/// The due column a delivery due at `now_ms` is written with: [`OWNED_MS`]
/// when its channel has `controls` (its owner drives it), else `now_ms`
/// (the queue and the sweeper do).
pub fn due_column(controls: Option<&Controls>, now_ms: u64) -> u64 {
    if controls.is_some() {
        OWNED_MS
    } else {
        now_ms
    }
}

/// The API's view of a destination (`GET …/{id}/destination`): `state`
/// `enabled` or `disabled`, the failures counted, since when it fails
/// (Unix ms), when (Unix ms) and why it was disabled, and the controls in force.
pub fn describe(controls: Option<&Controls>, s: &DestinationState) -> serde_json::Value {
    let c = controls.copied().unwrap_or(Controls {
        fifo: false,
        max_per_s: 0,
        disable_after: 0,
        disable_after_s: 0,
    });
    serde_json::json!({
        "state": if s.is_disabled() { "disabled" } else { "enabled" },
        "failures": s.failures,
        "failing_since_ms": s.failing_since_ms,
        "disabled_at_ms": s.disabled_at_ms,
        "disabled_by": s.disabled_by,
        "ordering": if c.fifo { "fifo" } else { "unordered" },
        "max_per_s": c.max_per_s,
        "disable_after": c.disable_after,
        "disable_after_s": c.disable_after_s,
    })
}

/// The throttle, at the moment an attempt is about to start: how many ms
/// it must still wait, at `now_ms`, to start at its `slot_ms` (the even
/// schedule of [`DestinationState::take_slot`]) and no sooner than half the
/// spacing (`1 s / max_per_s`) after the previous start (`last_start_ms`).
/// Starts follow the schedule, so a timer that fires late costs nothing
/// later (strict spacing from the previous start would add each lateness
/// to every start after it: measured, 14 a second instead of 20 on a busy
/// machine); the half spacing bounds the catching up after a stall, when
/// late starts come closer together than the schedule. 0: start now. With
/// no limit, 0.
pub fn wait_before_start(
    c: &Controls,
    last_start_ms: Option<u64>,
    slot_ms: u64,
    now_ms: u64,
) -> u64 {
    if c.max_per_s == 0 {
        return 0;
    }
    let half_gap_ms = 1000u64.div_ceil(2 * u64::from(c.max_per_s));
    let earliest = last_start_ms.map_or(slot_ms, |last| slot_ms.max(last + half_gap_ms));
    earliest.saturating_sub(now_ms)
}
