//! The core's contract: every pure rule of the gateway, tested natively.

use serde_json::{json, Value};
use std::collections::HashMap;
use syncbridge_core::callback::{self, Decision, StoredResult};
use syncbridge_core::config::{self, Settings};
use syncbridge_core::engine::{self, EngineReply};
use syncbridge_core::error::{ApiError, Surface};
use syncbridge_core::request_id::{self, IdError};
use syncbridge_core::route::{route, Route, ROUTES};
use syncbridge_core::signature;
use syncbridge_core::sync_api::{self, Answer, Deadline, Op, OpOutcome};

fn settings_with(extra: &[(&str, &str)]) -> Result<Settings, config::ConfigError> {
    let mut m: HashMap<String, String> = HashMap::from([
        ("API_KEYS".into(), r#"{"login":"s3cret"}"#.into()),
        ("CALLBACK_SECRET".into(), "0123456789abcdef0123".into()),
    ]);
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| m.get(k).cloned())
}

fn settings() -> Settings {
    settings_with(&[]).unwrap()
}

// ---- signatures -----------------------------------------------------------

/// Vectors computed outside Rust: hashlib.sha1(t + secret + body + secret).
const VECTORS: &[(&str, &str, &str, &str)] = &[
    (
        "1700000000",
        "secret",
        "{}",
        "4db7f40f96b035f35c1b9fd5c955353b80dc51de",
    ),
    (
        "1795413960",
        "k3y",
        r#"{"ops":[{"type":"create","obj":"task","conv_id":1,"data":{}}]}"#,
        "aff685ec8f97201c33e5fc6bee5510f95a48ac81",
    ),
    ("0", "", "", "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c"),
];

#[test]
fn signatures_match_the_documented_formula() {
    for (t, secret, body, want) in VECTORS {
        assert_eq!(signature::sign(t, secret, body.as_bytes()), *want);
        assert!(signature::verify(want, t, secret, body.as_bytes()));
        assert!(signature::verify(
            &want.to_uppercase(),
            t,
            secret,
            body.as_bytes()
        ));
        // The test client computes it the same way, independently.
        assert_eq!(
            syncbridge_tests::client::corezoid_signature(t, secret, body.as_bytes()),
            *want
        );
    }
}

#[test]
fn wrong_signatures_are_refused() {
    let (t, secret, body, good) = VECTORS[0];
    let b = body.as_bytes();
    assert!(!signature::verify(good, t, "other", b));
    assert!(!signature::verify(good, "1700000001", secret, b));
    assert!(!signature::verify(good, t, secret, b"{ }"));
    assert!(!signature::verify(&good[..39], t, secret, b));
    assert!(!signature::verify(&format!("{good}0"), t, secret, b));
    assert!(!signature::verify(&good.replace('4', "g"), t, secret, b));
    assert!(!signature::verify("", t, secret, b));
    // Every single-character change is caught.
    for i in 0..good.len() {
        let mut s = good.as_bytes().to_vec();
        s[i] = if s[i] == b'0' { b'1' } else { b'0' };
        assert!(
            !signature::verify(std::str::from_utf8(&s).unwrap(), t, secret, b),
            "position {i}"
        );
    }
}

#[test]
fn unixtime_parsing_and_clock_skew_edges() {
    assert_eq!(signature::parse_unixtime("1700000000"), Some(1_700_000_000));
    for bad in ["", "-5", "+5", "1e9", " 12", "12 ", "0x10", "1234567890123"] {
        assert_eq!(signature::parse_unixtime(bad), None, "{bad:?}");
    }
    let now = 1_700_000_000;
    assert!(signature::time_in_window(now, now, 300));
    assert!(signature::time_in_window(now - 300, now, 300));
    assert!(signature::time_in_window(now + 300, now, 300));
    assert!(!signature::time_in_window(now - 301, now, 300));
    assert!(!signature::time_in_window(now + 301, now, 300));
    assert!(signature::time_in_window(now, now, 0));
    assert!(!signature::time_in_window(now + 1, now, 0));
}

#[test]
fn authenticate_checks_time_then_login_and_signature_alike() {
    let s = settings();
    let body = b"{}";
    let now = 1_700_000_000i64;
    let t = now.to_string();
    let sig = signature::sign(&t, "s3cret", body);
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

// ---- request ids ----------------------------------------------------------

const KEY: &[u8] = b"callback-secret-for-tests";

#[test]
fn request_ids_round_trip() {
    let id = request_id::issue(KEY, [1; 16], 2_000, "login");
    assert_eq!(id.len(), request_id::REQUEST_ID_LEN);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let v = request_id::verify(KEY, &id, 1_999, 0).unwrap();
    assert_eq!(v.canonical, id);
    assert_eq!(v.expires_at, 2_000);
    assert!(v.owned_by(KEY, "login"));
    assert!(!v.owned_by(KEY, "login2"));
    assert!(!v.owned_by(b"another-key", "login"));
    // Upper case names the same object.
    let up = request_id::verify(KEY, &id.to_uppercase(), 1_999, 0).unwrap();
    assert_eq!(up.canonical, id);
    // Different randomness gives a different id.
    assert_ne!(id, request_id::issue(KEY, [2; 16], 2_000, "login"));
}

#[test]
fn request_id_expiry_and_grace() {
    let id = request_id::issue(KEY, [1; 16], 2_000, "login");
    assert!(request_id::verify(KEY, &id, 2_000, 0).is_ok());
    assert_eq!(
        request_id::verify(KEY, &id, 2_001, 0),
        Err(IdError::Expired)
    );
    assert!(request_id::verify(KEY, &id, 2_600, 600).is_ok());
    assert_eq!(
        request_id::verify(KEY, &id, 2_601, 600),
        Err(IdError::Expired)
    );
}

#[test]
fn forged_and_mangled_request_ids_are_refused() {
    let id = request_id::issue(KEY, [3; 16], 2_000, "login");
    assert_eq!(
        request_id::verify(b"wrong-key", &id, 0, 0),
        Err(IdError::Invalid)
    );
    for i in 0..id.len() {
        let mut s = id.clone().into_bytes();
        s[i] = if s[i] == b'0' { b'1' } else { b'0' };
        let s = String::from_utf8(s).unwrap();
        assert_eq!(
            request_id::verify(KEY, &s, 0, 0),
            Err(IdError::Invalid),
            "position {i}"
        );
    }
    for bad in [
        "",
        "abc",
        &id[1..],
        &format!("{id}0"),
        &id.replace(&id[..2], "zz"),
    ] {
        assert_eq!(
            request_id::verify(KEY, bad, 0, 0),
            Err(IdError::Invalid),
            "{bad:?}"
        );
    }
    // An expiry pushed forward by hand breaks the MAC.
    let mut raw = hex::decode(&id).unwrap();
    raw[19] ^= 0xff;
    assert_eq!(
        request_id::verify(KEY, &hex::encode(raw), 0, 0),
        Err(IdError::Invalid)
    );
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
        Op::Create(c) => {
            assert_eq!(c.conv_id, 7);
            assert_eq!(c.data["a"], 1);
            assert_eq!(c.reference, Some(json!("r1")));
            assert_eq!(c.id, Some(json!(5)));
        }
        other => panic!("{other:?}"),
    }
    match &ops[1] {
        Op::Create(c) => {
            assert_eq!(c.conv_id, 42);
            assert!(c.data.is_empty());
            assert_eq!(c.reference, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ops[2],
        Op::ShowResult {
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
            matches!(parsed.ops[0], Op::Invalid { .. }),
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

// ---- the engine -----------------------------------------------------------

#[test]
fn forwarded_request_is_signed_and_carries_the_callback_url() {
    let op = sync_api::CreateOp {
        conv_id: 99,
        data: json!({"a": 1}).as_object().unwrap().clone(),
        reference: Some(json!("ref-1")),
        id: None,
    };
    let cb = engine::callback_url("https://gw.example/", "abc");
    assert_eq!(cb, "https://gw.example/api/1/plugins/callback/abc");
    let f = engine::forward(
        "http://engine:1/",
        "login",
        "s3cret",
        1_700_000_000,
        &op,
        &cb,
    );
    let prefix = "http://engine:1/api/2/json/login/1700000000/";
    assert!(f.url.starts_with(prefix), "{}", f.url);
    let sig = &f.url[prefix.len()..];
    assert_eq!(
        sig,
        syncbridge_tests::client::corezoid_signature("1700000000", "s3cret", f.body.as_bytes())
    );
    let body: Value = serde_json::from_str(&f.body).unwrap();
    assert_eq!(
        body,
        json!({"ops": [{"type": "create", "obj": "task", "conv_id": 99, "ref": "ref-1",
                        "data": {"a": 1, "__callback_url": cb}}]})
    );
}

#[test]
fn engine_replies_are_classified() {
    let ok = br#"{"request_proc":"ok","ops":[{"proc":"ok","obj":"task","obj_id":"x"}]}"#;
    assert_eq!(engine::classify(200, ok), EngineReply::Accepted);
    let refused =
        br#"{"request_proc":"ok","ops":[{"proc":"error","description":"conv not found"}]}"#;
    assert_eq!(
        engine::classify(200, refused),
        EngineReply::Refused(json!({"proc": "error", "description": "conv not found"}))
    );
    let denied = br#"{"request_proc":"error","description":"Wrong signature"}"#;
    assert_eq!(
        engine::classify(200, denied),
        EngineReply::Refused(json!({"proc": "error", "description": "Wrong signature"}))
    );
    assert!(matches!(engine::classify(503, ok), EngineReply::Failed(d) if d.contains("503")));
    assert!(
        matches!(engine::classify(200, b"<html>"), EngineReply::Failed(d) if d.contains("not a JSON"))
    );
    assert!(matches!(
        engine::classify(200, b"{}"),
        EngineReply::Failed(_)
    ));
    assert!(matches!(engine::classify(404, b"{}"), EngineReply::Failed(d) if d.contains("404")));
    // A long non-JSON body is cut in the message, also inside a multi-byte char.
    let long = "é".repeat(500);
    match engine::classify(200, long.as_bytes()) {
        EngineReply::Failed(d) => assert!(d.len() < 400, "{}", d.len()),
        other => panic!("{other:?}"),
    }
}

// ---- callbacks ------------------------------------------------------------

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

// ---- settings -------------------------------------------------------------

#[test]
fn settings_defaults_and_errors() {
    let s = settings();
    assert_eq!(
        s.sync_default_timeout_s,
        config::DEFAULT_SYNC_DEFAULT_TIMEOUT_S
    );
    assert_eq!(s.sync_max_timeout_s, config::DEFAULT_SYNC_MAX_TIMEOUT_S);
    assert_eq!(s.signature_max_skew_s, 300);
    assert_eq!(s.result_ttl_s, 600);
    assert_eq!(s.max_body_bytes, 1 << 20);
    assert_eq!(s.max_ops, config::DEFAULT_MAX_OPS);
    assert_eq!(s.corezoid_api_url, None);
    assert_eq!(s.api_keys["login"], "s3cret");

    let with = settings_with(&[
        ("COREZOID_API_URL", "https://api.example/"),
        ("MAX_OPS", " 7 "),
    ])
    .unwrap();
    assert_eq!(
        with.corezoid_api_url.as_deref(),
        Some("https://api.example")
    );
    assert_eq!(with.max_ops, 7);

    for (k, v) in [
        ("API_KEYS", "not json"),
        ("API_KEYS", r#"{"a": 1}"#),
        ("CALLBACK_SECRET", "short"),
        ("CALLBACK_SECRET", "  "),
        ("MAX_OPS", "0"),
        ("MAX_OPS", "many"),
        ("SYNC_MAX_TIMEOUT_S", "-1"),
        ("COREZOID_API_URL", "ftp://x"),
        ("PUBLIC_URL", "gw.example"),
    ] {
        let e = settings_with(&[(k, v)]).unwrap_err();
        assert!(e.0.contains(k), "{k}={v}: {e}");
        assert!(
            !e.0.contains(v.trim()) || v.trim().is_empty() || v == "0",
            "{e} leaks the value"
        );
    }
}

// ---- routes and error shapes ---------------------------------------------

#[test]
fn route_table() {
    assert_eq!(
        route("POST", "/api/1/json/l/1/s"),
        Route::SyncApi {
            login: "l",
            unixtime: "1",
            signature: "s"
        }
    );
    assert_eq!(
        route("POST", "/api/1/plugins/callback/x"),
        Route::Callback { request_id: "x" }
    );
    assert_eq!(route("GET", "/healthz"), Route::Health);
    assert_eq!(route("HEAD", "/healthz"), Route::Health);
    assert_eq!(
        route("GET", "/api/1/json/l/1/s"),
        Route::MethodNotAllowed { allowed: "POST" }
    );
    assert_eq!(
        route("POST", "/healthz"),
        Route::MethodNotAllowed { allowed: "GET" }
    );
    for p in [
        "/",
        "/api/1/json/l/1",
        "/api/1/json/l/1/s/x",
        "/api/1/json//1/s",
        "/api/1/plugins/callback/",
        "/api/2/json/l/1/s",
    ] {
        assert_eq!(route("POST", p), Route::NotFound, "{p}");
    }
    // Every documented route is matched by the router with its method.
    for (method, template) in ROUTES {
        let path = template.replace(['{', '}'], "");
        assert!(
            !matches!(
                route(method, &path),
                Route::NotFound | Route::MethodNotAllowed { .. }
            ),
            "{method} {template}"
        );
    }
}

#[test]
fn error_shapes() {
    let e = ApiError::format("bad");
    assert_eq!(
        e.to_json(Surface::SyncApi),
        json!({"request_proc": "format_error", "description": "bad"})
    );
    assert_eq!(
        e.to_json(Surface::Plugin),
        json!({"proc": "error", "code": "format_error", "description": "bad"})
    );
    assert_eq!(ApiError::too_large(10).status, 413);
    assert_eq!(ApiError::gateway_timeout().status, 504);
}

// ---- admin and process keys ----------------------------------------------

#[test]
fn admin_token_and_process_key_checks() {
    use syncbridge_core::admin::{admin_ok, bearer_ok, process_key_ok};
    let t = "admin-token-0123456789";
    assert!(bearer_ok(Some("Bearer admin-token-0123456789"), t));
    assert!(bearer_ok(Some("bearer  admin-token-0123456789 "), t));
    for bad in [
        None,
        Some(""),
        Some("Bearer"),
        Some("Basic admin-token-0123456789"),
        Some("Bearer admin-token-012345678"),
    ] {
        assert!(!bearer_ok(bad, t), "{bad:?}");
    }
    assert!(admin_ok(Some("Bearer x"), Some("x")));
    assert!(
        !admin_ok(Some("Bearer x"), None),
        "no admin token configured opens nothing"
    );

    let mut ch = syncbridge_core::channel::create(
        &json!({"code": "c"}),
        "id".into(),
        "0".repeat(32),
        "2026-01-01T00:00:00.000Z",
    )
    .unwrap();
    let key = Some("Bearer process-key-0123456789");
    assert!(
        !process_key_ok(key, Some(&ch)),
        "a channel without opts.callback has no key"
    );
    ch = syncbridge_core::channel::patch(
        &ch,
        &json!({"opts": {"callback": {"process_key": "process-key-0123456789"}}}),
        "2026-01-01T00:00:01.000Z",
    )
    .unwrap();
    assert!(process_key_ok(key, Some(&ch)));
    assert!(!process_key_ok(
        Some("Bearer other-key-0123456789"),
        Some(&ch)
    ));
    assert!(!process_key_ok(key, None));
}
