//! A channel's overview (`stats`): the window, the per-minute counts, the totals.

use serde_json::json;
use syncbridge_core::stats::{
    overview, window_start_ms, RequestCount, StateCount, MINUTES, OUTCOMES, STATES,
};

const MIN: u64 = 60_000;

fn req(minute: u64, outcome: &str, count: u64) -> RequestCount {
    RequestCount {
        minute,
        outcome: outcome.into(),
        count,
    }
}

#[test]
fn the_window_is_sixty_whole_minutes_ending_with_the_current_one() {
    let now = 1_000 * MIN + 59_999;
    assert_eq!(window_start_ms(now), 941 * MIN);
    assert_eq!(window_start_ms(1_000 * MIN), 941 * MIN);
    // Near the epoch it starts at 0.
    assert_eq!(window_start_ms(5 * MIN), 0);
    assert_eq!(MINUTES, 60);
}

#[test]
fn counts_are_laid_out_oldest_first_and_totalled_by_outcome() {
    let now = 1_000 * MIN + 30_000;
    let o = overview(
        "c1",
        now,
        "since",
        &[
            req(941, "answered", 2),
            req(941, "failed", 1),
            req(970, "accepted", 4),
            req(1_000, "timed_out", 3),
            // Outside the window: before it, and in the future.
            req(940, "answered", 100),
            req(1_001, "answered", 100),
            // An outcome the list does not know is counted under its name.
            req(999, "", 1),
            // A minute and outcome twice (`REQUEST_COUNTS`: records with and
            // without the outcome column) add up.
            req(999, "failed", 2),
            req(999, "failed", 3),
        ],
        &[],
    );
    assert_eq!(o.requests.per_minute.len(), 60);
    assert_eq!(o.requests.per_minute[0], 3);
    assert_eq!(o.requests.per_minute[29], 4);
    assert_eq!(o.requests.per_minute[58], 6);
    assert_eq!(o.requests.per_minute[59], 3);
    assert_eq!(o.requests.per_minute.iter().sum::<u64>(), 16);
    assert_eq!(o.requests.total, 16);
    assert_eq!(o.requests.by_outcome["answered"], 2);
    assert_eq!(o.requests.by_outcome["failed"], 6);
    assert_eq!(o.requests.by_outcome["accepted"], 4);
    assert_eq!(o.requests.by_outcome["timed_out"], 3);
    assert_eq!(o.requests.by_outcome["no_process"], 0);
    assert_eq!(o.requests.by_outcome[""], 1);
}

#[test]
fn deliveries_by_state_with_every_state_shown() {
    let o = overview(
        "c1",
        MIN * 100,
        "s",
        &[],
        &[
            StateCount {
                state: "delivered".into(),
                total: 5,
                last_hour: 2,
            },
            StateCount {
                state: "dead".into(),
                total: 1,
                last_hour: 0,
            },
        ],
    );
    assert_eq!(o.deliveries.total, 6);
    for s in STATES {
        assert!(o.deliveries.by_state.contains_key(s), "{s}");
        assert!(o.deliveries.last_hour_by_state.contains_key(s), "{s}");
    }
    assert_eq!(o.deliveries.by_state["delivered"], 5);
    assert_eq!(o.deliveries.last_hour_by_state["delivered"], 2);
    assert_eq!(o.deliveries.by_state["pending"], 0);
    // An empty channel: zeros everywhere, every outcome named.
    let empty = overview("c2", MIN * 100, "s", &[], &[]);
    let v = serde_json::to_value(&empty).unwrap();
    assert_eq!(v["requests"]["total"], 0);
    assert_eq!(v["requests"]["per_minute"], json!(vec![0; 60]));
    for name in OUTCOMES {
        assert_eq!(v["requests"]["by_outcome"][name], 0, "{name}");
    }
    assert_eq!(v["channel_id"], "c2");
    assert_eq!(v["since"], "s");
}

#[test]
fn counts_are_a_json_object_in_name_order_as_a_sorted_map_writes_it() {
    let o = overview(
        "c",
        MIN * 100,
        "s",
        &[RequestCount {
            minute: 100,
            outcome: "zzz_other".into(),
            count: 2,
        }],
        &[StateCount {
            state: "a_new_state".into(),
            total: 1,
            last_hour: 1,
        }],
    );
    let text = serde_json::to_string(&o.requests.by_outcome).unwrap();
    let expected: std::collections::BTreeMap<&str, u64> = [
        ("answered", 0),
        ("accepted", 0),
        ("timed_out", 0),
        ("failed", 0),
        ("no_process", 0),
        ("zzz_other", 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(text, serde_json::to_string(&expected).unwrap());
    let names: Vec<&str> = o.deliveries.by_state.iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        ["a_new_state", "dead", "delivered", "failed", "pending"]
    );
    assert_eq!(o.deliveries.by_state.get("a_new_state"), Some(1));
    assert_eq!(o.deliveries.by_state.get("nope"), None);
}
