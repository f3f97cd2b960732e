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
fn public_base_is_public_url_or_a_loopback_request_origin() {
    // Without PUBLIC_URL: a loopback origin as it is; any other origin is
    // the caller's to choose (its Host), so a config error naming PUBLIC_URL.
    for origin in [
        "http://127.0.0.1:8787",
        "http://localhost:8787",
        "http://[::1]:8787",
    ] {
        assert_eq!(settings().public_base(origin).unwrap(), origin);
    }
    for origin in [
        "http://evil.example",
        "https://gw.example",
        "http://10.0.0.1:8787",
    ] {
        let e = settings().public_base(origin).unwrap_err();
        assert!(e.0.contains("PUBLIC_URL"), "{e}");
        assert!(!e.0.contains(&origin[7..]), "{e} names the origin");
    }
    let s = settings_with(&[("PUBLIC_URL", "https://gw.example/")]).unwrap();
    assert_eq!(
        s.public_base("http://127.0.0.1:8787").unwrap(),
        "https://gw.example"
    );
    assert_eq!(
        s.public_base("http://evil.example").unwrap(),
        "https://gw.example"
    );
    let s = settings_with(&[("PUBLIC_URL", "https://gw.example/base//")]).unwrap();
    assert_eq!(
        s.public_base("http://x").unwrap(),
        "https://gw.example/base"
    );
    let s = settings_with(&[("PUBLIC_URL", "  ")]).unwrap();
    assert!(s.public_base("http://x").is_err());
    assert_eq!(
        s.public_base("http://127.0.0.1").unwrap(),
        "http://127.0.0.1"
    );
}
