//! Who may act on a delivery, and when: the generation and lease rules of
//! the delivery queue. The rows and their SQL are the worker's (D1's
//! `deliveries` table); the decisions are here.
//!
//! A delivery's row carries a `generation`. A queue message says "attempt
//! delivery X at generation G"; it acts only while the row is still pending
//! at G ([`message_acts`]), so two messages never attempt one delivery at
//! once. Every write is conditional on the generation read (a write that
//! finds another generation is dropped). A resend and the sweeper's claim
//! move the row to G + 1 and queue a message for it; the attempt itself
//! keeps G.
//!
//! Before it attempts, a message leases the delivery: it moves the row's
//! `next_attempt_at_ms` to [`lease_until_ms`], past the attempt's longest
//! wait and the sweeper's grace, so the sweeper leaves it alone while it
//! runs. The sweeper re-queues pending rows due before [`sweep_cutoff_ms`]
//! (their message is presumed lost). A message the queue gives up on goes
//! to the dead-letter queue, whose consumer makes its delivery dead
//! ([`dead_letter`]) if the message still acts.

use super::{Delivery, DeliveryState};
use crate::config::Settings;

/// True when a queue message of `message_generation` may act on `delivery`,
/// read at `generation`: it is pending, and no newer message superseded
/// this one. Otherwise the message is dropped (acknowledged) unused.
pub fn message_acts(delivery: &Delivery, generation: u64, message_generation: u64) -> bool {
    delivery.state == DeliveryState::Pending && generation == message_generation
}

/// The `next_attempt_at_ms` a message writes before it attempts, at
/// `now_ms`: `CALLBACK_TIMEOUT_S` + `CALLBACK_SWEEP_GRACE_S` later
/// (saturating rather than overflowing).
pub fn lease_until_ms(now_ms: u64, settings: &Settings) -> u64 {
    let lease_s = settings
        .callback_timeout_s
        .saturating_add(settings.callback_sweep_grace_s);
    now_ms.saturating_add(lease_s.saturating_mul(1000))
}

/// The sweeper's cutoff at `now_ms`: a pending delivery whose next attempt
/// was due before it (by more than `CALLBACK_SWEEP_GRACE_S`) has lost its
/// message, and is claimed under a new generation, due again at [`lease_until_ms`]
/// (so that a queue slower than the grace does not make it overdue again).
pub fn sweep_cutoff_ms(now_ms: u64, settings: &Settings) -> u64 {
    now_ms.saturating_sub(settings.callback_sweep_grace_s.saturating_mul(1000))
}

/// The error of a delivery whose message the queue gave up on.
pub const DEAD_LETTER_ERROR: &str = "dead-lettered: the queue gave up on it";

/// What a dead letter does to its delivery, read at `generation`: when the
/// message still acts ([`message_acts`]), the delivery becomes dead, with no
/// next attempt and [`DEAD_LETTER_ERROR`], and the result is true (write it
/// back at the same generation, `next_attempt_at_ms` 0); otherwise nothing
/// changes and the result is false.
pub fn dead_letter(delivery: &mut Delivery, generation: u64, message_generation: u64) -> bool {
    if !message_acts(delivery, generation, message_generation) {
        return false;
    }
    delivery.state = DeliveryState::Dead;
    delivery.next_attempt_at_ms = None;
    delivery.error = Some(DEAD_LETTER_ERROR.into());
    true
}

/// The longest delay a queue message may carry (Cloudflare Queues: 12 h).
pub const MAX_QUEUE_DELAY_S: u64 = 43_200;

/// How a send makes its delivery's first attempt itself, at once, instead
/// of waiting for the queue.
///
/// The send stores the row at generation 1 already leased (due at
/// `due_ms`, [`lease_until_ms`]), answers, then attempts. A queue message
/// for generation 1 delayed by `safety_net_delay_s` (the lease, at most
/// [`MAX_QUEUE_DELAY_S`]) is the safety net: when the attempt's isolate
/// dies, the message finds the row still pending at generation 1 once the
/// lease is over and makes the attempt. When the attempt is recorded, the
/// net does nothing: a finished delivery is not pending, and a retried one
/// is written at generation 2 with a message of its own (see
/// [`retry_generation`]). The two never overlap: the net arrives after the
/// lease, which outlasts the attempt (`CALLBACK_TIMEOUT_S`) and its record
/// (`CALLBACK_SWEEP_GRACE_S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstAttempt {
    /// The row's `next_attempt_at_ms` when stored: leased by the send.
    pub due_ms: u64,
    /// The delay of the generation-1 safety-net message, in seconds.
    pub safety_net_delay_s: u32,
}

/// The [`FirstAttempt`] of a send at `now_ms`.
pub fn first_attempt(now_ms: u64, settings: &Settings) -> FirstAttempt {
    let due_ms = lease_until_ms(now_ms, settings);
    let lease_s = due_ms.saturating_sub(now_ms).div_ceil(1000);
    FirstAttempt {
        due_ms,
        safety_net_delay_s: lease_s.min(MAX_QUEUE_DELAY_S) as u32,
    }
}

/// The generation a send's own first attempt writes its record at, read at
/// `generation`: the same when the delivery is finished, the next one when
/// it is to be retried (the retry's queue message then carries it, and the
/// send's safety-net message, still at `generation`, is dropped).
pub fn retry_generation(generation: u64, retrying: bool) -> u64 {
    if retrying {
        generation + 1
    } else {
        generation
    }
}
