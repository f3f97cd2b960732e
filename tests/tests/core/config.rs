//! Settings (`config`): defaults, bounds and errors.

use crate::{settings, settings_with};
use syncbridge_core::config;

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

#[test]
fn the_allow_list_is_parsed_with_the_settings() {
    let s = settings_with(&[(
        "CALLBACK_ALLOWED_HOSTS",
        "api.example.com, http://*.example.org:8443",
    )])
    .unwrap();
    assert!(!s.callback_allowed_hosts.is_empty());
    assert!(settings().callback_allowed_hosts.is_empty());
    assert!(settings_with(&[("CALLBACK_ALLOWED_HOSTS", " , ")])
        .unwrap()
        .callback_allowed_hosts
        .is_empty());
    // An entry of no accepted form stops the gateway at start, naming the
    // setting and the entry's position but never its text.
    let e = settings_with(&[(
        "CALLBACK_ALLOWED_HOSTS",
        "api.example.com ftp://files.example.com,user@x.com",
    )])
    .unwrap_err();
    assert!(
        e.0.starts_with("setting CALLBACK_ALLOWED_HOSTS holds entries 2, 3 of no accepted form"),
        "{e}"
    );
    assert!(
        !e.0.contains("files.example.com") && !e.0.contains("user@x"),
        "{e} leaks the value"
    );
    let e = settings_with(&[("CALLBACK_ALLOWED_HOSTS", "*")]).unwrap_err();
    assert!(e.0.contains("holds entry 1 of"), "{e}");
}

#[test]
fn public_base_is_public_url_or_the_request_origin() {
    assert_eq!(
        settings().public_base("http://127.0.0.1:8787"),
        "http://127.0.0.1:8787"
    );
    let s = settings_with(&[("PUBLIC_URL", "https://gw.example/")]).unwrap();
    assert_eq!(s.public_base("http://127.0.0.1:8787"), "https://gw.example");
    let s = settings_with(&[("PUBLIC_URL", "https://gw.example/base//")]).unwrap();
    assert_eq!(s.public_base("http://x"), "https://gw.example/base");
    let s = settings_with(&[("PUBLIC_URL", "  ")]).unwrap();
    assert_eq!(s.public_base("http://x"), "http://x");
}

#[test]
fn eventing_limits_have_defaults_and_bounds() {
    let s = settings();
    assert_eq!(s.event_buffer, 1000);
    assert_eq!(s.event_buffer_bytes, 4 << 20);
    assert_eq!(s.event_max_bytes, 256 << 10);
    assert_eq!(s.ws_max_subscribers, 1000);
    assert_eq!(s.max_subscriptions, 100);
    assert_eq!(config::MIN_EVENT_MAX_BYTES, 16384);
    assert_eq!(config::MAX_EVENT_MAX_BYTES, 1 << 20);

    let with = settings_with(&[
        ("EVENT_BUFFER_BYTES", "0"),
        ("EVENT_MAX_BYTES", "16384"),
        ("WS_MAX_SUBSCRIBERS", "7"),
        ("MAX_SUBSCRIPTIONS", "1"),
    ])
    .unwrap();
    assert_eq!(with.event_buffer_bytes, 0);
    assert_eq!(with.event_max_bytes, config::MIN_EVENT_MAX_BYTES);
    assert_eq!(with.ws_max_subscribers, 7);
    assert_eq!(with.max_subscriptions, 1);
    let top = settings_with(&[("EVENT_MAX_BYTES", "1048576")]).unwrap();
    assert_eq!(top.event_max_bytes, config::MAX_EVENT_MAX_BYTES);

    for (k, v) in [
        ("EVENT_BUFFER_BYTES", "-1"),
        ("EVENT_MAX_BYTES", "16383"),
        ("EVENT_MAX_BYTES", "1048577"),
        ("EVENT_MAX_BYTES", "big"),
        ("WS_MAX_SUBSCRIBERS", "0"),
        ("MAX_SUBSCRIPTIONS", "0"),
    ] {
        let e = settings_with(&[(k, v)]).unwrap_err();
        assert!(e.0.contains(k), "{k}={v}: {e}");
        assert!(!e.0.contains(v), "{e} leaks the value");
    }
    let e = settings_with(&[("EVENT_MAX_BYTES", "9")]).unwrap_err();
    assert!(e.0.contains("from 16384 to 1048576"), "{e}");
}
