//! The process's callback (`callback`): its body and the stored result.

use serde_json::json;
use syncbridge_core::callback::{self, Decision, StoredResult};

#[test]
fn callback_bodies() {
    assert_eq!(callback::parse(br#"{"a":1}"#, 100).unwrap()["a"], 1);
    for bad in [&b"[1]"[..], b"1", b"\"s\"", b"null", b"{", b""] {
        assert_eq!(callback::parse(bad, 100).unwrap_err().code, "format_error");
    }
    let e = callback::parse(&[b' '; 101], 100).unwrap_err();
    assert_eq!((e.status, e.code), (413, "body_too_large"));
}

#[test]
fn first_callback_is_stored_and_later_ones_are_duplicates() {
    match callback::decide(None, json!({"a": 1}), 5_000, 100, 600) {
        Decision::Store {
            result,
            delete_in_ms,
        } => {
            assert_eq!(
                result,
                StoredResult {
                    data: json!({"a": 1}),
                    received_at_ms: 5_000
                }
            );
            // Deleted when the id's fetch window ends: (100 + 600) s, from now (5 s).
            assert_eq!(delete_in_ms, 695_000);
        }
        other => panic!("{other:?}"),
    }
    // A callback at the very end of the window is still kept a moment, never negative.
    match callback::decide(None, json!({}), 800_000, 100, 600) {
        Decision::Store { delete_in_ms, .. } => assert_eq!(delete_in_ms, 0),
        other => panic!("{other:?}"),
    }
    let stored = StoredResult {
        data: json!({"a": 1}),
        received_at_ms: 1,
    };
    assert_eq!(
        callback::decide(Some(&stored), json!({"b": 2}), 9, 100, 600),
        Decision::Duplicate
    );
}
