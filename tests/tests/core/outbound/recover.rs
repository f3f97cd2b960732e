//! Bulk recovery's request (`recover`).

use super::*;

#[test]
fn since_is_required_and_states_default_to_failed_and_dead() {
    let r = parse_recover(br#"{"since": "2026-11-23T06:00:00.000Z"}"#).unwrap();
    assert_eq!(r.since_ms, 1_795_413_600_000);
    assert_eq!(r.states, [DeliveryState::Failed, DeliveryState::Dead]);
    let r = parse_recover(br#"{"since": "1970-01-01T00:00:01Z", "states": ["dead"]}"#).unwrap();
    assert_eq!((r.since_ms, r.states), (1000, vec![DeliveryState::Dead]));
}

#[test]
fn bad_recover_bodies_are_400s_naming_the_field() {
    for (body, needle) in [
        ("", "Bad JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "`since` is required"),
        (r#"{"since": 5}"#, "`since` is required"),
        (r#"{"since": "yesterday"}"#, "ISO-8601"),
        (
            r#"{"since": "2026-11-23T06:00:00Z", "x": 1}"#,
            "Unknown field `x`",
        ),
        (
            r#"{"since": "2026-11-23T06:00:00Z", "states": []}"#,
            "non-empty array",
        ),
        (
            r#"{"since": "2026-11-23T06:00:00Z", "states": "dead"}"#,
            "non-empty array",
        ),
        (
            r#"{"since": "2026-11-23T06:00:00Z", "states": ["pending"]}"#,
            "only \"failed\" and \"dead\"",
        ),
        (
            r#"{"since": "2026-11-23T06:00:00Z", "states": ["dead", "dead"]}"#,
            "repeats dead",
        ),
    ] {
        assert_400(parse_recover(body.as_bytes()), &[needle]);
    }
}
