//! Delivery controls (`control`): which channels have an owner, FIFO and
//! unordered picking, the circuit breaker, the throttle; and their settings
//! in `opts.callback`.

use super::*;
use syncbridge_core::outbound::control::*;

fn controls(v: Value) -> Option<Controls> {
    Controls::of(Some(&parse(v)))
}

const FIFO: Controls = Controls {
    fifo: true,
    max_per_s: 0,
    disable_after: 0,
    disable_after_s: 0,
};
const PLAIN: Controls = Controls {
    fifo: false,
    ..FIFO
};

fn due(ms: &[u64]) -> Vec<Waiting> {
    ms.iter().map(|&due_ms| Waiting { due_ms }).collect()
}

#[test]
fn only_a_channel_using_a_control_gets_an_owner() {
    assert_eq!(Controls::of(None), None);
    assert_eq!(controls(json!({})), None);
    assert_eq!(
        controls(json!({"ordering": "unordered", "max_per_s": 0})),
        None
    );
    assert_eq!(controls(json!({"ordering": "fifo"})), Some(FIFO));
    assert_eq!(
        controls(json!({"max_per_s": 20})),
        Some(Controls {
            max_per_s: 20,
            ..PLAIN
        })
    );
    assert!(controls(json!({"disable_after": 10})).is_some());
    assert!(controls(json!({"disable_after_s": 432000})).is_some());
}

#[test]
fn control_settings_are_bounded_and_round_trip() {
    for (v, needle) in [
        (json!({"ordering": "lifo"}), "\"unordered\" or \"fifo\""),
        (json!({"ordering": null}), "cannot be null"),
        (
            json!({"disable_after": -1}),
            "`opts.callback.disable_after` must be a whole number",
        ),
        (json!({"disable_after": 10001}), "0 (off) to 10000"),
        (json!({"disable_after_s": 1.5}), "whole number of seconds"),
        (json!({"disable_after_s": 2_592_001}), "to 2592000"),
        (json!({"max_per_s": 1001}), "0 (off) to 1000"),
        (json!({"max_per_s": "5"}), "attempts a second"),
    ] {
        assert_400(parse_config(&v), &[needle]);
    }
    let c = parse(
        json!({"ordering": "fifo", "disable_after": 3, "disable_after_s": 60, "max_per_s": 20}),
    );
    let back: CallbackConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    // Off: not written, so stored configurations read the same as before.
    let plain = serde_json::to_value(parse(json!({}))).unwrap();
    for key in ["ordering", "disable_after", "disable_after_s", "max_per_s"] {
        assert!(plain.get(key).is_none(), "{key}: {plain}");
    }
}

#[test]
fn fifo_attempts_only_the_oldest_and_waits_for_its_retry() {
    assert_eq!(pick(&FIFO, &[], 100, 10), Pick::Idle);
    assert_eq!(
        pick(&FIFO, &due(&[100, 0, 0]), 100, 10),
        Pick::Attempt(vec![0])
    );
    // A retrying head holds back the rest, even those due.
    assert_eq!(
        pick(&FIFO, &due(&[500, 0, 0]), 100, 10),
        Pick::WaitUntil(500)
    );
}

#[test]
fn unordered_attempts_every_due_one_up_to_the_batch() {
    assert_eq!(
        pick(&PLAIN, &due(&[0, 500, 50, 90]), 100, 2),
        Pick::Attempt(vec![0, 2])
    );
    assert_eq!(
        pick(&PLAIN, &due(&[0, 500, 50]), 100, 10),
        Pick::Attempt(vec![0, 2])
    );
    assert_eq!(
        pick(&PLAIN, &due(&[700, 500]), 100, 10),
        Pick::WaitUntil(500)
    );
    assert_eq!(pick(&PLAIN, &due(&[0]), 100, 0), Pick::Attempt(vec![0]));
}

#[test]
fn the_breaker_counts_consecutive_failures_and_a_success_clears_them() {
    let c = Controls {
        disable_after: 3,
        ..PLAIN
    };
    let mut s = DestinationState::default();
    assert!(!s.record(&c, true, 1));
    assert!(!s.record(&c, true, 2));
    assert!(!s.record(&c, false, 3));
    assert_eq!((s.failures, s.failing_since_ms), (0, None));
    assert!(!s.record(&c, true, 4));
    assert!(!s.record(&c, true, 5));
    assert!(!s.is_disabled());
    assert!(s.record(&c, true, 6), "the third in a row disables");
    assert!(s.is_disabled());
    assert_eq!(s.disabled_at_ms, Some(6));
    assert_eq!(s.disabled_by, Some(DisabledBy::ConsecutiveFailures));
    assert_eq!(s.failing_since_ms, Some(4));
    // Already disabled: reported once.
    assert!(!s.record(&c, true, 7));
    s.enable();
    assert_eq!(
        s,
        DestinationState {
            next_slot_us: s.next_slot_us,
            ..Default::default()
        }
    );
}

#[test]
fn the_breaker_disables_when_failures_span_disable_after_s() {
    let c = Controls {
        disable_after_s: 60,
        ..PLAIN
    };
    let mut s = DestinationState::default();
    assert!(!s.record(&c, true, 1_000));
    assert!(!s.record(&c, true, 60_999));
    assert!(s.record(&c, true, 61_000));
    assert_eq!(s.disabled_by, Some(DisabledBy::FailingFor));
    // Without a breaker, failures are only counted.
    let mut s = DestinationState::default();
    for t in 0..100 {
        assert!(!s.record(&PLAIN, true, t * 1_000_000));
    }
    assert_eq!(s.failures, 100);
}

#[test]
fn the_throttle_spaces_starts_evenly_at_its_rate() {
    let c = Controls {
        max_per_s: 20,
        ..PLAIN
    };
    // A fresh destination holds one second's worth of slots (the credit),
    // now's included: they begin 950 ms back, so 20 are due at once, not
    // 21, then 50 ms apart.
    let mut s = DestinationState::default();
    let slots: Vec<u64> = (0..5).map(|_| s.take_slot(&c, 10_000)).collect();
    assert_eq!(slots, [9_050, 9_100, 9_150, 9_200, 9_250]);
    let mut s = DestinationState::default();
    let due = (0..40)
        .filter(|_| s.take_slot(&c, 10_000) <= 10_000)
        .count();
    assert_eq!(due, 20);
    // Fallen behind by more than the credit: 950 ms back, no more.
    assert_eq!(s.take_slot(&c, 20_000), 19_050);
    assert_eq!(s.take_slot(&c, 20_000), 19_100);
    // Ahead of now: later slots wait.
    let mut s = DestinationState::default();
    let slots: Vec<u64> = (0..40).map(|_| s.take_slot(&c, 10_000)).collect();
    assert_eq!(slots[39], 11_000);
    // A rate that does not divide a second: the spacing rounds down (333.333 ms
    // at 3/s), and 3 are due at once.
    let c3 = Controls {
        max_per_s: 3,
        ..PLAIN
    };
    let mut s = DestinationState::default();
    let due = (0..10)
        .filter(|_| s.take_slot(&c3, 10_000) <= 10_000)
        .count();
    assert_eq!(due, 3);
    // 500 slots at 20/s span 24.95 s, so a burst of 500 at that rate
    // takes about 24 s (the first second's worth at once).
    let mut s = DestinationState::default();
    let all: Vec<u64> = (0..500).map(|_| s.take_slot(&c, 1_000_000)).collect();
    assert_eq!(all[499] - all[0], 24_950);
    // No limit: always now.
    assert_eq!(DestinationState::default().take_slot(&PLAIN, 42), 42);
}

#[test]
fn owned_deliveries_are_never_overdue_for_the_sweeper() {
    let settings = crate::settings_with(&[]).unwrap();
    let far = 100 * 365 * 86_400_000u64;
    assert!(syncbridge_core::outbound::lease::sweep_cutoff_ms(far, &settings) < OWNED_MS);
    assert_eq!(due_column(Some(&FIFO), 5), OWNED_MS);
    assert_eq!(due_column(None, 5), 5);
}

#[test]
fn the_destination_is_described_with_its_controls() {
    let mut s = DestinationState::default();
    let c = Controls {
        disable_after: 1,
        ..FIFO
    };
    s.record(&c, true, 7);
    let v = describe(Some(&c), &s);
    assert_eq!(v["state"], "disabled");
    assert_eq!(v["disabled_by"], "consecutive_failures");
    assert_eq!(
        (v["disabled_at_ms"].as_u64(), v["failures"].as_u64()),
        (Some(7), Some(1))
    );
    assert_eq!(v["ordering"], "fifo");
    let v = describe(None, &DestinationState::default());
    assert_eq!(
        (v["state"].as_str(), v["ordering"].as_str()),
        (Some("enabled"), Some("unordered"))
    );
}

#[test]
fn starts_follow_the_schedule_and_catch_up_at_most_twice_as_fast() {
    let c = Controls {
        max_per_s: 20,
        ..PLAIN
    };
    // On time: start at the slot.
    assert_eq!(wait_before_start(&c, None, 1_000, 990), 10);
    assert_eq!(wait_before_start(&c, None, 1_000, 1_000), 0);
    // A late previous start (1 180 for slot 1 150) does not move the next
    // slot (1 200) later...
    assert_eq!(wait_before_start(&c, Some(1_180), 1_200, 1_205), 0);
    // ...but nothing starts within half the spacing (25 ms) of another.
    assert_eq!(wait_before_start(&c, Some(1_190), 1_200, 1_200), 15);
    assert_eq!(wait_before_start(&PLAIN, Some(1_180), 1_200, 0), 0);
    // A rate that does not divide a second rounds the half gap up.
    let c3 = Controls {
        max_per_s: 3,
        ..PLAIN
    };
    assert_eq!(wait_before_start(&c3, Some(0), 0, 0), 167);
    // Timers all 20 ms late: starts keep the rate (one every 50 ms).
    let mut s = DestinationState::default();
    let mut last = None;
    let mut starts = Vec::new();
    for _ in 0..100 {
        let slot = s.take_slot(&c, 0);
        let mut now = slot + 20;
        now += wait_before_start(&c, last, slot, now);
        last = Some(now);
        starts.push(now);
    }
    assert_eq!(starts[99] - starts[0], 99 * 50);
}
