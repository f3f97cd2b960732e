//! `lease`: which queue message acts on a delivery, the lease, the sweep
//! and dead letters.

use super::*;
use syncbridge_core::outbound::lease::{
    dead_letter, lease_until_ms, message_acts, sweep_cutoff_ms, DEAD_LETTER_ERROR,
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
