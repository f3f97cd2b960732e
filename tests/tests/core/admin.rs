//! The admin token and process keys (`admin`).

use serde_json::json;

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

/// A channel whose process key is `process-key-0123456789`.
fn channel_with_key() -> syncbridge_core::channel::Channel {
    syncbridge_core::channel::create(
        &json!({"code": "c", "opts": {"callback": {"process_key": "process-key-0123456789"}}}),
        "id".into(),
        "0".repeat(32),
        "2026-01-01T00:00:00.000Z",
    )
    .unwrap()
}

#[test]
fn authorize_answers_as_each_route_did() {
    use syncbridge_core::admin::{authorize, Caller, Policy};
    let ch = channel_with_key();
    let token = Some("admin-token-0123456789");
    let admin = Some("Bearer admin-token-0123456789");
    let key = Some("Bearer process-key-0123456789");
    let wrong = Some("Bearer wrong-token-0123456789");
    let closed = "setting ADMIN_TOKEN is not set, so the channel API is closed";
    let unauthorized = "Missing or wrong Authorization: Bearer token";

    // The channel API and the delivery log: the admin token only.
    assert_eq!(
        authorize(admin, token, None, Policy::AdminOnly),
        Ok(Caller::Admin)
    );
    for header in [None, key, wrong, Some("Basic admin-token-0123456789")] {
        let e = authorize(header, token, Some(&ch), Policy::AdminOnly).unwrap_err();
        assert_eq!((e.status, e.error_message.as_str()), (401, unauthorized));
    }
    for header in [None, admin, key] {
        let e = authorize(header, None, Some(&ch), Policy::AdminOnly).unwrap_err();
        assert_eq!(
            (e.status, e.error_message.as_str()),
            (500, closed),
            "{header:?}"
        );
        assert_eq!(e.error_code(), 1500);
    }

    // Send, send/test and publish: the admin token or the channel's key.
    for channel in [Some(&ch), None] {
        assert_eq!(
            authorize(admin, token, channel, Policy::AdminOrProcessKey),
            Ok(Caller::Admin),
            "an admin is let in, and gets the route's 404 for a missing channel"
        );
    }
    assert_eq!(
        authorize(key, token, Some(&ch), Policy::AdminOrProcessKey),
        Ok(Caller::Process)
    );
    assert_eq!(
        authorize(key, None, Some(&ch), Policy::AdminOrProcessKey),
        Ok(Caller::Process),
        "no ADMIN_TOKEN leaves the process-key routes open to keys"
    );
    for (header, admin_token, channel) in [
        (None, token, Some(&ch)),
        (wrong, token, Some(&ch)),
        (key, token, None),
        (admin, None, Some(&ch)),
        (None, None, None),
        (wrong, None, Some(&ch)),
    ] {
        let e = authorize(header, admin_token, channel, Policy::AdminOrProcessKey).unwrap_err();
        assert_eq!(
            (e.status, e.error_message.as_str()),
            (401, unauthorized),
            "{header:?} {admin_token:?} {}",
            channel.is_some()
        );
    }
    // A channel without a process key opens nothing to a key.
    let mut plain = ch.clone();
    plain.opts.callback = None;
    assert!(authorize(key, token, Some(&plain), Policy::AdminOrProcessKey).is_err());
}
