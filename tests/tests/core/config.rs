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

#[test]
fn process_allowed_hosts_defaults_to_any_public_host() {
    use syncbridge_core::outbound::{check_destination, ListKind};
    let s = settings();
    assert_eq!(s.process_allowed_hosts.kind(), ListKind::Process);
    let ok = |s: &syncbridge_core::Settings, url: &str| {
        check_destination(url, &s.process_allowed_hosts).is_ok()
    };
    assert!(ok(&s, "https://api.corezoid.com/"));
    assert!(!ok(&s, "http://api.corezoid.com/"));
    assert!(!ok(&s, "https://127.0.0.1/"));
    assert!(!ok(&s, "https://localhost/"));
    // Empty is the default too; a list of its own replaces it.
    let s = settings_with(&[("PROCESS_ALLOWED_HOSTS", " ")]).unwrap();
    assert!(ok(&s, "https://api.corezoid.com/"));
    let s = settings_with(&[("PROCESS_ALLOWED_HOSTS", "*, http://127.0.0.1")]).unwrap();
    assert!(ok(&s, "http://127.0.0.1:8790/process/echo"));
    assert!(ok(&s, "https://api.corezoid.com/"));
    let s = settings_with(&[("PROCESS_ALLOWED_HOSTS", "api.corezoid.com")]).unwrap();
    assert!(ok(&s, "https://api.corezoid.com/"));
    assert!(!ok(&s, "https://other.example/"));
    // Entries of no accepted form stop the gateway, naming their positions only.
    let e = settings_with(&[("PROCESS_ALLOWED_HOSTS", "*, ftp://x.example, user@y")]).unwrap_err();
    assert!(
        e.0.starts_with("setting PROCESS_ALLOWED_HOSTS holds entries 2, 3 of no accepted form"),
        "{e}"
    );
    assert!(!e.0.contains("x.example") && !e.0.contains("user@"), "{e}");
    // CALLBACK_ALLOWED_HOSTS still has no `*`.
    assert!(settings_with(&[("CALLBACK_ALLOWED_HOSTS", "*")]).is_err());
}

#[test]
fn the_engine_url_must_be_set_and_allowed() {
    let e = settings().engine_url().unwrap_err();
    assert_eq!(e.0, "setting COREZOID_API_URL is not set");
    let s = settings_with(&[("COREZOID_API_URL", "https://api.corezoid.com/")]).unwrap();
    assert_eq!(s.engine_url().unwrap(), "https://api.corezoid.com");
    for url in [
        "http://127.0.0.1:8790",
        "https://10.0.0.1",
        "https://localhost",
        "http://api.corezoid.com",
    ] {
        let s = settings_with(&[("COREZOID_API_URL", url)]).unwrap();
        let e = s.engine_url().unwrap_err();
        assert!(
            e.0.contains("COREZOID_API_URL") && e.0.contains("PROCESS_ALLOWED_HOSTS"),
            "{e}"
        );
        assert!(!e.0.contains(&url[8..]), "{e} names the value");
    }
    let s = settings_with(&[
        ("COREZOID_API_URL", "http://127.0.0.1:8790"),
        ("PROCESS_ALLOWED_HOSTS", "http://127.0.0.1"),
    ])
    .unwrap();
    assert_eq!(s.engine_url().unwrap(), "http://127.0.0.1:8790");
}

#[test]
fn signature_replay_protection_is_off_unless_turned_on() {
    assert!(!settings().signature_replay_protection);
    for on in ["true", "TRUE", "1", "yes", "on", " On "] {
        let s = settings_with(&[("SIGNATURE_REPLAY_PROTECTION", on)]).unwrap();
        assert!(s.signature_replay_protection, "{on}");
    }
    for off in ["false", "0", "no", "off", "", "  "] {
        let s = settings_with(&[("SIGNATURE_REPLAY_PROTECTION", off)]).unwrap();
        assert!(!s.signature_replay_protection, "{off:?}");
    }
    for bad in ["2", "enabled", "maybe"] {
        let e = settings_with(&[("SIGNATURE_REPLAY_PROTECTION", bad)]).unwrap_err();
        assert!(e.0.contains("SIGNATURE_REPLAY_PROTECTION"), "{e}");
        assert!(!e.0.contains(bad), "{e} names the value");
    }
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

#[test]
fn channel_cache_ms_has_a_default_and_bounds() {
    assert_eq!(settings().channel_cache_ms, 1000);
    assert_eq!(
        settings_with(&[("CHANNEL_CACHE_MS", "0")])
            .unwrap()
            .channel_cache_ms,
        0
    );
    assert_eq!(
        settings_with(&[("CHANNEL_CACHE_MS", "60000")])
            .unwrap()
            .channel_cache_ms,
        60_000
    );
    for v in ["60001", "-1", "soon"] {
        let e = settings_with(&[("CHANNEL_CACHE_MS", v)]).unwrap_err();
        assert!(e.0.contains("CHANNEL_CACHE_MS"), "{v}: {e}");
        assert!(e.0.contains("from 0 to 60000"), "{v}: {e}");
    }
}

#[test]
fn request_log_body_bytes_has_a_default_and_bounds() {
    assert_eq!(settings().request_log_body_bytes, 4096);
    for (v, want) in [("0", 0), ("1", 1), ("65536", 65536)] {
        let s = settings_with(&[("REQUEST_LOG_BODY_BYTES", v)]).unwrap();
        assert_eq!(s.request_log_body_bytes, want, "{v}");
    }
    for v in ["65537", "-1", "4k", "1e3"] {
        let e = settings_with(&[("REQUEST_LOG_BODY_BYTES", v)]).unwrap_err();
        assert!(e.0.contains("REQUEST_LOG_BODY_BYTES"), "{v}: {e}");
        assert!(e.0.contains("from 0 to 65536"), "{v}: {e}");
        assert!(!e.0.contains(v), "{e} leaks the value");
    }
}
