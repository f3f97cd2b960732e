//! A send's `Idempotency-Key`, its body of variables, and `prepare` (the
//! checks before rendering, and the size bound).

use super::*;
use syncbridge_core::channel::{self, Channel};
use syncbridge_core::Settings;

fn settings(allowed: &str, max_bytes: &str) -> Settings {
    Settings::from_lookup(|name| match name {
        "CALLBACK_SECRET" => Some("send-tests-callback-secret-0123456789".into()),
        "CALLBACK_ALLOWED_HOSTS" => Some(allowed.into()),
        "CALLBACK_MAX_BYTES" => Some(max_bytes.into()),
        _ => None,
    })
    .expect("settings")
}

fn channel_with(url: &str, callback: Option<Value>) -> Channel {
    let mut body = json!({"code": "send-tests", "url": url});
    if let Some(cb) = callback {
        body["opts"] = json!({ "callback": cb });
    }
    channel::create(
        &body,
        "id-1".into(),
        "token-1".into(),
        "2026-12-01T00:00:00.000Z",
    )
    .expect("channel")
}

#[test]
fn an_idempotency_key_is_1_to_255_bytes() {
    assert_eq!(idempotency_key(None).unwrap(), None);
    assert_eq!(idempotency_key(Some("k".into())).unwrap(), Some("k".into()));
    let longest = "k".repeat(MAX_IDEMPOTENCY_KEY);
    assert_eq!(
        idempotency_key(Some(longest.clone())).unwrap(),
        Some(longest)
    );
    for bad in [String::new(), "k".repeat(MAX_IDEMPOTENCY_KEY + 1)] {
        assert_400(
            idempotency_key(Some(bad)),
            &["Idempotency-Key must be 1 to 255"],
        );
    }
}

#[test]
fn the_body_holds_variables_and_nothing_else() {
    assert!(send_variables(b"").unwrap().is_empty());
    assert!(send_variables(b" \n\t").unwrap().is_empty());
    assert!(send_variables(br#"{}"#).unwrap().is_empty());
    assert!(send_variables(br#"{"variables": null}"#)
        .unwrap()
        .is_empty());
    let v = send_variables(br#"{"variables": {"a": 1, "b": "x"}}"#).unwrap();
    assert_eq!(Value::Object(v), json!({"a": 1, "b": "x"}));
    assert_400(send_variables(b"{"), &["Bad JSON"]);
    assert_400(send_variables(b"[1]"), &["must be a JSON object"]);
    assert_400(
        send_variables(br#"{"vars": {}}"#),
        &["Unknown field `vars`"],
    );
    assert_400(
        send_variables(br#"{"variables": 3}"#),
        &["`variables` must be an object"],
    );
}

#[test]
fn prepare_needs_a_callback_a_url_on_the_list_and_a_request_within_the_bound() {
    let s = settings("https://hooks.example", "1024");
    let cb = json!({"body": "@v", "variables": ["v"]});
    let mut v = Map::new();
    v.insert("v".into(), json!("x"));
    let no_callback = channel_with("https://hooks.example/a", None);
    assert_err(
        prepare(&s, &no_callback, &v, 0),
        409,
        &["no callback configuration"],
    );
    let off_list = channel_with("https://other.example/a", Some(cb.clone()));
    assert_err(prepare(&s, &off_list, &v, 0), 422, &["other.example"]);
    let ok = channel_with("https://hooks.example/a", Some(cb));
    let r = prepare(&s, &ok, &v, 0).expect("prepared");
    assert_eq!(r.body, "x");
    v.insert("v".into(), json!("x".repeat(1024)));
    assert_err(prepare(&s, &ok, &v, 0), 413, &["more than the 1024"]);
}
