//! Request ids (`request_id`): issue, verify, expiry, forgery.

use syncbridge_core::request_id::{self, IdError};

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
