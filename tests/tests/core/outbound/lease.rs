//! `lease`: which queue message acts on a delivery, the lease, the sweep
//! and dead letters.

use super::*;
use syncbridge_core::outbound::lease::{
    dead_letter, first_attempt, lease_until_ms, message_acts, retry_generation, sweep_cutoff_ms,
    FirstAttempt, DEAD_LETTER_ERROR, MAX_QUEUE_DELAY_S,
};

fn delivery(state: DeliveryState) -> Delivery {
    let mut d = Delivery::new(
        "d1".into(),
        "c1".into(),
        Rendered::json_post(URL, "{}"),
        RetryPolicy::default(),
        None,
        "2026-01-01T00:00:00.000Z".into(),
        1_000,
    );
    d.state = state;
    d
}

fn settings(timeout_s: &str, grace_s: &str) -> syncbridge_core::Settings {
    crate::settings_with(&[
        ("CALLBACK_TIMEOUT_S", timeout_s),
        ("CALLBACK_SWEEP_GRACE_S", grace_s),
    ])
    .unwrap()
}

#[test]
fn a_message_acts_only_on_a_pending_delivery_of_its_generation() {
    let d = delivery(DeliveryState::Pending);
    assert!(message_acts(&d, 1, 1));
    assert!(message_acts(&d, 7, 7));
    assert!(!message_acts(&d, 2, 1), "superseded by a newer message");
    assert!(!message_acts(&d, 1, 2));
    for state in [
        DeliveryState::Delivered,
        DeliveryState::Failed,
        DeliveryState::Dead,
    ] {
        assert!(!message_acts(&delivery(state), 1, 1), "{state}");
    }
}

#[test]
fn the_lease_covers_the_attempt_and_the_sweepers_grace() {
    let s = settings("10", "60");
    assert_eq!(lease_until_ms(1_000_000, &s), 1_000_000 + 70_000);
    let s = settings("2", "2");
    assert_eq!(lease_until_ms(5, &s), 4_005);
    // The defaults: 10 s and 60 s.
    assert_eq!(lease_until_ms(0, &crate::settings()), 70_000);
    // Absurd settings saturate instead of overflowing.
    let s = settings(&u64::MAX.to_string(), "1");
    assert_eq!(lease_until_ms(1, &s), u64::MAX);
}

#[test]
fn the_sweeper_takes_what_is_overdue_by_more_than_the_grace() {
    let s = settings("10", "60");
    assert_eq!(sweep_cutoff_ms(1_000_000, &s), 940_000);
    assert_eq!(
        sweep_cutoff_ms(59_999, &s),
        0,
        "early clocks do not underflow"
    );
    // A leased delivery is never overdue while its attempt may still run.
    let now = 1_000_000;
    assert!(lease_until_ms(now, &s) > sweep_cutoff_ms(now + 10_000, &s));
    let s = settings("10", &u64::MAX.to_string());
    assert_eq!(sweep_cutoff_ms(now, &s), 0);
}

#[test]
fn a_dead_letter_kills_a_delivery_its_message_still_acts_on() {
    let mut d = delivery(DeliveryState::Pending);
    assert!(dead_letter(&mut d, 3, 3));
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(d.next_attempt_at_ms, None);
    assert_eq!(d.next_attempt_column(), 0);
    assert_eq!(d.error.as_deref(), Some(DEAD_LETTER_ERROR));
    assert_eq!(DEAD_LETTER_ERROR, "dead-lettered: the queue gave up on it");

    let mut d = delivery(DeliveryState::Pending);
    let before = d.clone();
    assert!(!dead_letter(&mut d, 4, 3), "an older generation's letter");
    assert_eq!(d, before);
    for state in [DeliveryState::Delivered, DeliveryState::Failed] {
        let mut d = delivery(state);
        let before = d.clone();
        assert!(!dead_letter(&mut d, 1, 1));
        assert_eq!(d, before);
    }
}

#[test]
fn a_sends_first_attempt_is_leased_and_its_safety_net_comes_after_the_lease() {
    let s = settings("30", "60");
    let plan = first_attempt(1_000_000, &s);
    assert_eq!(
        plan,
        FirstAttempt {
            due_ms: lease_until_ms(1_000_000, &s),
            safety_net_delay_s: 90,
        }
    );
    // The sweeper leaves the row alone while the send attempts it.
    assert!(sweep_cutoff_ms(1_000_000, &s) < plan.due_ms);
    assert!(sweep_cutoff_ms(1_000_000 + 89_000, &s) < plan.due_ms);
    // The net never comes before the lease ends.
    assert!(1_000_000 + u64::from(plan.safety_net_delay_s) * 1000 >= plan.due_ms);
    // A lease longer than a queue delay can be: the longest delay.
    let long = first_attempt(0, &settings("300", "86400"));
    assert_eq!(u64::from(long.safety_net_delay_s), MAX_QUEUE_DELAY_S);
}

#[test]
fn a_retried_first_attempt_moves_to_the_next_generation_so_the_net_is_dropped() {
    assert_eq!(retry_generation(1, true), 2);
    assert_eq!(retry_generation(1, false), 1);
    let mut d = delivery(DeliveryState::Pending);
    // Retried: written at 2; the net (generation 1) no longer acts.
    assert!(!message_acts(&d, retry_generation(1, true), 1));
    assert!(message_acts(&d, retry_generation(1, true), 2));
    // Finished at 1: not pending, the net does nothing either.
    d.state = DeliveryState::Delivered;
    assert!(!message_acts(&d, retry_generation(1, false), 1));
}
