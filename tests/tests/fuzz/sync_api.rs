//! The Sync API: `sync_api::parse` (the body), `sync_api::authenticate`
//! (login, time window, signature), `Deadline::new`, and
//! `signature::verify` / `parse_unixtime`.

use crate::gen::{bytes, json, leaf, mutated, mutated_json, object_of, text};
use crate::{check, fuzz};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use syncbridge_core::signature;
use syncbridge_core::sync_api::{self, Deadline, SyncOp};
use syncbridge_core::Settings;

const MAX_OPS: usize = 5;
const SECRET: &str = "fuzz-secret-0123";
const NOW: i64 = 1_800_000_000;

fn settings() -> Settings {
    let m: HashMap<&str, String> = HashMap::from([
        ("API_KEYS", json!({"login": SECRET}).to_string()),
        ("CALLBACK_SECRET", "0123456789abcdef0123".to_string()),
    ]);
    Settings::from_lookup(|k| m.get(k).cloned()).expect("fuzz settings")
}

/// An op shaped like a real one: the real keys, plausible and wrong values.
fn op() -> impl Strategy<Value = Value> {
    let conv_id = prop_oneof![
        (1u64..1_000_000).prop_map(Value::from),
        any::<u64>().prop_map(|n| Value::from(n.to_string())),
        leaf(),
    ];
    let create = (
        conv_id,
        proptest::option::of(json()),
        proptest::option::of(leaf()),
    )
        .prop_map(|(conv_id, data, reference)| {
            let mut op = json!({"type": "create", "obj": "task", "conv_id": conv_id});
            if let Some(d) = data {
                op["data"] = d;
            }
            if let Some(r) = reference {
                op["ref"] = r;
            }
            op
        });
    let show = prop_oneof![text().prop_map(Value::from), leaf()]
        .prop_map(|id| json!({"type": "show", "obj": "result", "request_id": id}));
    prop_oneof![
        3 => create,
        1 => show,
        1 => object_of(&["type", "obj", "conv_id", "data", "request_id"], leaf()),
        1 => json(),
    ]
}

/// A body shaped like a real one.
pub fn body() -> impl Strategy<Value = Value> {
    let timeout = prop_oneof![
        Just(None),
        (1u32..100).prop_map(|t| Some(Value::from(t))),
        leaf().prop_map(Some)
    ];
    let ops = prop_oneof![
        4 => proptest::collection::vec(op(), 0..8).prop_map(Value::Array),
        1 => json(),
    ];
    (timeout, ops).prop_map(|(t, ops)| {
        let mut m = Map::new();
        if let Some(t) = t {
            m.insert("timeout".into(), t);
        }
        m.insert("ops".into(), ops);
        Value::Object(m)
    })
}

/// What `parse` must say of any input that it accepts.
fn accepted_shape(input: &[u8], parsed: &sync_api::SyncRequest) -> Result<(), TestCaseError> {
    crate::accepted();
    check!(
        !parsed.ops.is_empty() && parsed.ops.len() <= MAX_OPS,
        "accepted {} ops from {:?}",
        parsed.ops.len(),
        String::from_utf8_lossy(input)
    );
    if let Some(t) = parsed.timeout_s {
        check!(t.is_finite() && t > 0.0, "timeout {t} accepted");
        let d = Deadline::new(Some(t), &settings());
        check!(
            d.timeout_ms >= 1,
            "deadline of {t} s is {} ms",
            d.timeout_ms
        );
    }
    for op in &parsed.ops {
        if let SyncOp::Create(c) = op {
            check!(c.conv_id > 0, "conv_id 0 accepted");
        }
    }
    Ok(())
}

#[test]
fn parse_takes_any_bytes() {
    fuzz("sync_api::parse/bytes", bytes(), |input| {
        if let Ok(parsed) = sync_api::parse(&input, MAX_OPS) {
            accepted_shape(&input, &parsed)?;
        }
        Ok(())
    });
}

#[test]
fn parse_takes_mutated_bodies() {
    fuzz("sync_api::parse/mutated", mutated_json(body()), |input| {
        if let Ok(parsed) = sync_api::parse(&input, MAX_OPS) {
            accepted_shape(&input, &parsed)?;
        }
        Ok(())
    });
}

#[test]
fn parse_keeps_every_op_in_order() {
    fuzz("sync_api::parse/structured", body(), |body| {
        let input = body.to_string().into_bytes();
        let Ok(parsed) = sync_api::parse(&input, MAX_OPS) else {
            return Ok(());
        };
        accepted_shape(&input, &parsed)?;
        let given = body["ops"].as_array().expect("accepted ops are an array");
        check!(given.len() == parsed.ops.len(), "ops dropped or added");
        for (g, p) in given.iter().zip(&parsed.ops) {
            match p {
                SyncOp::Create(c) => {
                    check!(
                        g["type"] == "create" && g["obj"] == "task",
                        "{g} read as create"
                    );
                    let want = g["conv_id"]
                        .as_u64()
                        .or_else(|| g["conv_id"].as_str().and_then(|s| s.parse().ok()));
                    check!(
                        want == Some(c.conv_id),
                        "conv_id of {g} read as {}",
                        c.conv_id
                    );
                    // As serde_json reads the same text (it reads some floats
                    // 1 ULP off without its `float_roundtrip` feature).
                    let data = g
                        .get("data")
                        .map_or(json!({}), |d| serde_json::from_str(&d.to_string()).unwrap());
                    check!(Value::Object(c.data.clone()) == data, "data of {g} changed");
                }
                SyncOp::ShowResult { request_id } => {
                    check!(
                        g["request_id"] == request_id.as_str(),
                        "request_id of {g} changed"
                    );
                }
                SyncOp::Invalid { description } => {
                    check!(
                        !description.is_empty(),
                        "an invalid op without a description"
                    );
                }
            }
        }
        Ok(())
    });
}

fn signed_call() -> impl Strategy<Value = (Vec<u8>, i64)> {
    (
        prop_oneof![bytes(), body().prop_map(|b| b.to_string().into_bytes())],
        -200i64..200,
    )
}

#[test]
fn authenticate_accepts_only_the_signed_request() {
    let settings = settings();
    let skew = settings.signature_max_skew_s as i64;
    fuzz(
        "sync_api::authenticate",
        (signed_call(), any::<usize>(), 1u8..=255, any::<bool>()),
        |((body, offset), at, flip, tamper_body)| {
            let t = (NOW + offset).to_string();
            let sig = signature::sign(&t, SECRET, &body);
            let ok = sync_api::authenticate(&settings, "login", &t, &sig, &body, NOW);
            if ok.is_ok() {
                crate::accepted();
            }
            check!(
                ok.is_ok() == (offset.abs() <= skew),
                "signed call at offset {offset}: {ok:?}"
            );
            // Upper-case hex is the same signature.
            let upper = sig.to_uppercase();
            let up = sync_api::authenticate(&settings, "login", &t, &upper, &body, NOW);
            check!(up.is_ok() == ok.is_ok(), "upper-case signature: {up:?}");
            // Any change to the signature or the body is refused.
            let (sig2, body2) = if tamper_body {
                (
                    sig.clone(),
                    crate::gen::mutate(body.clone(), &[crate::gen::Mutation::Flip(at, flip)]),
                )
            } else {
                let mut s = sig.clone().into_bytes();
                let i = at % s.len();
                s[i] = if s[i] == b'0' { b'1' } else { b'0' };
                (String::from_utf8(s).unwrap(), body.clone())
            };
            if body2 != body || sig2 != sig {
                let r = sync_api::authenticate(&settings, "login", &t, &sig2, &body2, NOW);
                check!(r.is_err(), "a tampered call was accepted");
            }
            // Another login never authenticates with this key.
            let other = sync_api::authenticate(&settings, "login2", &t, &sig, &body, NOW);
            check!(other.is_err(), "an unknown login was accepted");
            Ok(())
        },
    );
}

#[test]
fn authenticate_takes_any_path_parts() {
    let settings = settings();
    fuzz(
        "sync_api::authenticate/any",
        (text(), text(), text(), mutated(bytes()), any::<i64>()),
        |(login, t, sig, body, now)| {
            let r = sync_api::authenticate(&settings, &login, &t, &sig, &body, now);
            if r.is_ok() {
                crate::accepted();
                check!(
                    signature::verify(&sig, &t, SECRET, &body),
                    "accepted without a valid signature"
                );
            }
            let _ = signature::parse_unixtime(&t);
            Ok(())
        },
    );
}

#[test]
fn deadlines_stay_in_bounds() {
    let settings = settings();
    let cap_ms = settings.sync_max_timeout_s * 1000;
    fuzz(
        "sync_api::Deadline::new",
        proptest::option::of(any::<f64>()),
        |t| {
            let d = Deadline::new(t, &settings);
            check!(
                (1..=cap_ms).contains(&d.timeout_ms),
                "timeout {t:?} gave {} ms",
                d.timeout_ms
            );
            Ok(())
        },
    );
}
