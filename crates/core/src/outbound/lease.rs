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
