//! The process engine (`engine`): the forwarded request and the reading of
//! the engine's reply.

use serde_json::{json, Value};
use syncbridge_core::engine::{self, EngineReply};
use syncbridge_core::sync_api;

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
