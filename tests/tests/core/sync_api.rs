//! The Sync API (`sync_api`): authentication, request parsing, deadlines and
//! the assembly of the caller's answer.

use crate::{settings, settings_with};
use serde_json::{json, Value};
use syncbridge_core::error::ApiError;
use syncbridge_core::signature;
use syncbridge_core::sync_api::{self, Answer, Deadline, OpOutcome, SyncOp};

/// The time the signing tests call at, and `body` signed by `login`
/// (secret `s3cret`) at that time: the time as text and the signature.
const NOW: i64 = 1_700_000_000;

fn signed_now(body: &[u8]) -> (String, String) {
    let t = NOW.to_string();
    let sig = signature::sign(&t, "s3cret", body);
    (t, sig)
}

#[test]
fn authenticate_checks_time_then_login_and_signature_alike() {
    let s = settings();
    let body = b"{}";
    let (now, (t, sig)) = (NOW, signed_now(body));
    assert_eq!(
        sync_api::authenticate(&s, "login", &t, &sig, body, now),
        Ok("s3cret")
    );
    let unknown = sync_api::authenticate(&s, "nobody", &t, &sig, body, now).unwrap_err();
    let wrong = sync_api::authenticate(&s, "login", &t, &"0".repeat(40), body, now).unwrap_err();
    assert_eq!(
        unknown, wrong,
        "an unknown login must look like a wrong signature"
    );
    assert_eq!(unknown.status, 403);
    let stale = sync_api::authenticate(&s, "login", &t, &sig, body, now + 301).unwrap_err();
    assert_eq!((stale.status, stale.code), (403, "access_denied"));
    let bad_time = sync_api::authenticate(&s, "login", "abc", &sig, body, now).unwrap_err();
    assert_eq!(bad_time.status, 403);
}

#[test]
fn a_signed_body_read_in_chunks_is_checked_for_the_login_and_time_it_was_begun_for() {
    let s = settings();
    let body = b"{\"ops\":[]}";
    let (now, (t, sig)) = (NOW, signed_now(body));
    let read = |login: &str, unixtime: &str| {
        let mut signed = sync_api::covering(&s, login, unixtime, 0);
        for chunk in body.chunks(3) {
            signed.buffer().extend_body(chunk);
        }
        let signed = signed.seal();
        assert_eq!(signed.body(), body);
        sync_api::authenticate_covered(&s, &signed, &sig, now)
    };
    assert_eq!(read("login", &t), Ok("s3cret"));
    // The same bytes begun for another login, or another time, do not pass.
    assert_eq!(read("nobody", &t).unwrap_err().status, 403);
    let later = (now + 1).to_string();
    assert_eq!(read("login", &later).unwrap_err().status, 403);
    // Unsealed (the closing secret not yet in place), nothing verifies.
    let mut open = sync_api::covering(&s, "login", &t, 0);
    open.buffer().extend_body(body);
    assert!(sync_api::authenticate_covered(&s, &open, &sig, now).is_err());
}

// ---- request parsing ------------------------------------------------------

fn parse(v: Value) -> Result<sync_api::SyncRequest, ApiError> {
    sync_api::parse(v.to_string().as_bytes(), 3)
}

fn create(conv: Value) -> Value {
    json!({"type": "create", "obj": "task", "conv_id": conv, "data": {"a": 1}})
}

#[test]
fn request_level_shapes() {
    let err = |body: &[u8]| sync_api::parse(body, 3).unwrap_err();
    assert_eq!(err(b"{").code, "format_error");
    assert_eq!(err(b"").code, "format_error");
    assert_eq!(err(b"[]").code, "format_error");
    assert_eq!(err(b"null").code, "format_error");
    assert_eq!(err(br#"{"ops": {}}"#).code, "format_error");
    assert_eq!(err(br#"{"ops": "x"}"#).code, "format_error");
    assert_eq!(err(b"{}").code, "ops_error");
    assert_eq!(err(br#"{"ops": null}"#).code, "ops_error");
    assert_eq!(err(br#"{"ops": []}"#).code, "ops_error");
    let four: Vec<Value> = (0..4).map(|_| create(json!(1))).collect();
    let e = parse(json!({"ops": four})).unwrap_err();
    assert_eq!((e.status, e.code), (400, "ops_error"));
    let three: Vec<Value> = (0..3).map(|_| create(json!(1))).collect();
    assert_eq!(parse(json!({"ops": three})).unwrap().ops.len(), 3);
}

#[test]
fn timeout_shapes() {
    let t = |v: Value| parse(json!({"timeout": v, "ops": [create(json!(1))]}));
    assert_eq!(t(json!(30)).unwrap().timeout_s, Some(30.0));
    assert_eq!(t(json!(0.25)).unwrap().timeout_s, Some(0.25));
    assert_eq!(t(json!("15")).unwrap().timeout_s, Some(15.0));
    assert_eq!(t(Value::Null).unwrap().timeout_s, None);
    assert_eq!(
        parse(json!({"ops": [create(json!(1))]})).unwrap().timeout_s,
        None
    );
    for bad in [
        json!(0),
        json!(-1),
        json!(true),
        json!("soon"),
        json!([1]),
        json!({}),
    ] {
        assert_eq!(t(bad.clone()).unwrap_err().code, "format_error", "{bad}");
    }
}

#[test]
fn op_shapes() {
    let ops = parse(json!({"ops": [
        {"type": "create", "obj": "task", "conv_id": 7, "data": {"a": 1}, "ref": "r1", "id": 5},
        {"type": "create", "obj": "task", "conv_id": "42"},
        {"type": "show", "obj": "result", "request_id": "abc"},
    ]}))
    .unwrap()
    .ops;
    match &ops[0] {
        SyncOp::Create(c) => {
            assert_eq!(c.conv_id, 7);
            assert_eq!(c.data["a"], 1);
            assert_eq!(c.reference, Some(json!("r1")));
            assert_eq!(c.id, Some(json!(5)));
        }
        other => panic!("{other:?}"),
    }
    match &ops[1] {
        SyncOp::Create(c) => {
            assert_eq!(c.conv_id, 42);
            assert!(c.data.is_empty());
            assert_eq!(c.reference, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ops[2],
        SyncOp::ShowResult {
            request_id: "abc".into()
        }
    );
}

#[test]
fn bad_ops_are_errors_of_their_own() {
    let bad = [
        json!(1),
        json!({}),
        json!({"type": "delete", "obj": "task"}),
        json!({"type": "create", "obj": "conv", "conv_id": 1}),
        json!({"type": "create", "obj": "task"}),
        json!({"type": "create", "obj": "task", "conv_id": 0}),
        json!({"type": "create", "obj": "task", "conv_id": -3}),
        json!({"type": "create", "obj": "task", "conv_id": 1.5}),
        json!({"type": "create", "obj": "task", "conv_id": "12a"}),
        json!({"type": "create", "obj": "task", "conv_id": ""}),
        json!({"type": "create", "obj": "task", "conv_id": 1, "data": [1]}),
        json!({"type": "create", "obj": "task", "conv_id": 1, "data": "x"}),
        json!({"type": "show", "obj": "result"}),
        json!({"type": "show", "obj": "task", "request_id": "x"}),
    ];
    for op in bad {
        let parsed = sync_api::parse(json!({"ops": [op]}).to_string().as_bytes(), 3).unwrap();
        assert!(
            matches!(parsed.ops[0], SyncOp::Invalid { .. }),
            "{op} gave {:?}",
            parsed.ops[0]
        );
    }
}

// ---- deadlines and the answer ---------------------------------------------

#[test]
fn timeout_arithmetic() {
    let s = settings_with(&[
        ("SYNC_DEFAULT_TIMEOUT_S", "60"),
        ("SYNC_MAX_TIMEOUT_S", "120"),
    ])
    .unwrap();
    assert_eq!(
        Deadline::new(None, &s),
        Deadline {
            timeout_ms: 60_000,
            explicit: false
        }
    );
    assert_eq!(
        Deadline::new(Some(30.0), &s),
        Deadline {
            timeout_ms: 30_000,
            explicit: true
        }
    );
    assert_eq!(Deadline::new(Some(0.5), &s).timeout_ms, 500);
    assert_eq!(Deadline::new(Some(0.0001), &s).timeout_ms, 1);
    assert_eq!(Deadline::new(Some(120.0), &s).timeout_ms, 120_000);
    assert_eq!(Deadline::new(Some(121.0), &s).timeout_ms, 120_000);
    assert_eq!(Deadline::new(Some(1e300), &s).timeout_ms, 120_000);
    // A default above the cap is cut to the cap.
    let s2 = settings_with(&[
        ("SYNC_DEFAULT_TIMEOUT_S", "500"),
        ("SYNC_MAX_TIMEOUT_S", "100"),
    ])
    .unwrap();
    assert_eq!(Deadline::new(None, &s2).timeout_ms, 100_000);
    // Id expiry: deadline rounded up to the second, plus the result TTL.
    let d = Deadline {
        timeout_ms: 1_500,
        explicit: true,
    };
    assert_eq!(d.id_expiry_s(10_000, 600), 12 + 600);
    assert_eq!(d.id_expiry_s(10_500, 600), 12 + 600);
    assert_eq!(d.id_expiry_s(10_501, 600), 13 + 600);
}

fn outcome(o: OpOutcome) -> Answer {
    Answer::Outcome {
        request_id: "rid".into(),
        outcome: o,
    }
}

#[test]
fn answers_keep_order_and_shape() {
    let answers = [
        outcome(OpOutcome::Data {
            data: json!({"x": 1}),
        }),
        Answer::invalid("bad op"),
        outcome(OpOutcome::Refused {
            op: json!({"proc": "error", "description": "no"}),
        }),
        outcome(OpOutcome::Failed {
            description: "down".into(),
        }),
        outcome(OpOutcome::Timeout),
    ];
    let (status, v) = sync_api::respond(
        &answers,
        Deadline {
            timeout_ms: 1,
            explicit: true,
        },
    );
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"request_proc": "ok", "ops": [
            {"proc": "ok", "data": {"x": 1}},
            {"proc": "error", "description": "bad op"},
            {"proc": "error", "description": "no"},
            {"proc": "error", "description": "down", "request_id": "rid"},
            {"proc": "error", "description": "Timeout for create task", "request_id": "rid"},
        ]})
    );
    let (status, v) = sync_api::respond(
        &answers,
        Deadline {
            timeout_ms: 1,
            explicit: false,
        },
    );
    assert_eq!(status, 504);
    assert_eq!(v["request_proc"], "timeout");
    assert_eq!(v["description"], "Gateway Time-out");
    assert_eq!(v["ops"].as_array().unwrap().len(), 5);
    // Without a timed-out op, no 504 even with the default timeout.
    let (status, _) = sync_api::respond(
        &answers[..4],
        Deadline {
            timeout_ms: 1,
            explicit: false,
        },
    );
    assert_eq!(status, 200);
}

#[test]
fn op_outcome_wire_format() {
    let o = OpOutcome::Data {
        data: json!({"k": "v"}),
    };
    let s = serde_json::to_value(&o).unwrap();
    assert_eq!(s, json!({"outcome": "data", "data": {"k": "v"}}));
    assert_eq!(serde_json::from_value::<OpOutcome>(s).unwrap(), o);
    assert_eq!(
        serde_json::to_value(OpOutcome::Timeout).unwrap(),
        json!({"outcome": "timeout"})
    );
}

#[test]
fn show_result_answers() {
    assert_eq!(sync_api::show_found("r", json!({"a": 1}))["proc"], "ok");
    assert_eq!(sync_api::show_absent("r", true)["proc"], "wait");
    assert_eq!(sync_api::show_absent("r", false)["proc"], "error");
    assert_eq!(
        sync_api::show_not_found("r")["description"],
        "Result not found"
    );
}

// ---- replay_guard ------------------------------------------------------------

#[test]
fn a_signature_is_guarded_by_an_object_of_its_own_until_its_window_ends() {
    use syncbridge_core::sync_api::replay_guard;
    let s = super::settings_with(&[("SIGNATURE_MAX_SKEW_S", "300")]).unwrap();
    let sig = "41FF38d0a8a7f4c2e0b8b9b6a1c3d5e7f9a0b1c2";
    let g = replay_guard(&s, "partner", "1795413960", sig).unwrap();
    assert_eq!(g.name, format!("sync:partner:{}", sig.to_ascii_lowercase()));
    // Taken while |now - unixtime| <= skew: remembered until a second after.
    assert_eq!(g.until_ms, (1_795_413_960 + 300 + 1) * 1000);
    // Either letter case is the same request; another login or signature another.
    let lower = replay_guard(&s, "partner", "1795413960", &sig.to_ascii_lowercase()).unwrap();
    assert_eq!(lower, g);
    assert_ne!(
        replay_guard(&s, "other", "1795413960", sig).unwrap().name,
        g.name
    );
    let other_sig = "51ff38d0a8a7f4c2e0b8b9b6a1c3d5e7f9a0b1c2";
    assert_ne!(
        replay_guard(&s, "partner", "1795413960", other_sig)
            .unwrap()
            .name,
        g.name
    );
    assert!(replay_guard(&s, "partner", "soon", sig).is_none());
    let s0 = super::settings_with(&[("SIGNATURE_MAX_SKEW_S", "0")]).unwrap();
    assert_eq!(
        replay_guard(&s0, "partner", "10", sig).unwrap().until_ms,
        11_000
    );
}

#[test]
fn a_replay_is_403_replayed() {
    use syncbridge_core::error::{ApiError, Surface};
    let e = ApiError::replayed();
    assert_eq!((e.status, e.code), (403, "replayed"));
    let v = e.to_json(Surface::SyncApi);
    assert_eq!(v["request_proc"], "replayed");
    assert!(v["description"]
        .as_str()
        .unwrap()
        .contains("sign each request anew"));
}

#[test]
fn an_op_outcome_reads_back_what_it_writes() {
    use serde_json::json;
    for o in [
        OpOutcome::Data {
            data: json!({"a": [1, null]}),
        },
        OpOutcome::Data { data: json!(null) },
        OpOutcome::Refused {
            op: json!({"proc": "error"}),
        },
        OpOutcome::Failed {
            description: "engine down".into(),
        },
        OpOutcome::Timeout,
    ] {
        let text = serde_json::to_vec(&o).unwrap();
        assert_eq!(serde_json::from_slice::<OpOutcome>(&text).unwrap(), o);
    }
    // Other fields are ignored; a missing or wrong one is an error.
    let read = |v: serde_json::Value| serde_json::from_value::<OpOutcome>(v);
    assert_eq!(
        read(json!({"outcome": "timeout", "extra": 1})).unwrap(),
        OpOutcome::Timeout
    );
    for bad in [
        json!({"outcome": "data"}),
        json!({"outcome": "failed", "description": 3}),
        json!({"outcome": "nope"}),
        json!({"data": 1}),
        json!([1]),
        json!("timeout"),
    ] {
        assert!(read(bad.clone()).is_err(), "{bad}");
    }
}
