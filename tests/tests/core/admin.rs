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
