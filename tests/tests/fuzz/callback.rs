//! The process's callback body: `callback::parse`, and the engine's reply
//! (`engine::classify`).

use crate::gen::{bytes, json, mutated_json, object_of};
use crate::{check, fuzz};
use proptest::prelude::*;
use serde_json::Value;
use syncbridge_core::{callback, engine};

const MAX: usize = 512;

/// `parse` accepts exactly the JSON objects of at most `MAX` bytes.
fn agrees_with_serde(input: &[u8]) -> Result<(), TestCaseError> {
    let got = callback::parse(input, MAX);
    if got.is_ok() {
        crate::accepted();
    }
    let want = input.len() <= MAX
        && matches!(serde_json::from_slice::<Value>(input), Ok(Value::Object(_)));
    check!(
        got.is_ok() == want,
        "{:?}: {got:?}",
        String::from_utf8_lossy(input)
    );
    if let Err(e) = got {
        check!(
            e.status == 400 || e.status == 413,
            "callback refused with {}",
            e.status
        );
    }
    Ok(())
}

#[test]
fn parse_takes_any_bytes() {
    fuzz("callback::parse/bytes", bytes(), |input| {
        agrees_with_serde(&input)
    });
}

#[test]
fn parse_takes_mutated_callbacks() {
    let shaped = object_of(
        &[
            "echo",
            "conv_id",
            "ref",
            "response_code",
            "response_content",
        ],
        json(),
    );
    fuzz("callback::parse/mutated", mutated_json(shaped), |input| {
        agrees_with_serde(&input)
    });
}

#[test]
fn engine_replies_are_classified() {
    let reply = prop_oneof![
        bytes(),
        mutated_json(object_of(
            &["request_proc", "ops", "proc", "description"],
            json()
        )),
    ];
    fuzz(
        "engine::classify",
        (any::<u16>(), reply),
        |(status, body)| {
            let _ = engine::classify(status, &body);
            Ok(())
        },
    );
}
