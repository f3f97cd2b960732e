//! Request ids (`request_id`): issue, verify, expiry, forgery.

use syncbridge_core::request_id::{self, IdError, Purpose};

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

#[test]
fn ids_of_one_purpose_do_not_verify_for_another() {
    let all = [Purpose::SyncApi, Purpose::Webhook, Purpose::Connection];
    for issued in all {
        let id = request_id::issue_for(KEY, issued, [4; 16], 2_000, "owner");
        for asked in all {
            let got = request_id::verify_for(KEY, &[asked], &id, 0, 0);
            if asked == issued {
                let v = got.unwrap();
                assert_eq!(v.purpose, issued);
                assert!(v.owned_by(KEY, "owner"));
            } else {
                assert_eq!(got, Err(IdError::Invalid), "{issued:?} as {asked:?}");
            }
        }
        // Any of several: the purpose it was issued for is the one found.
        assert_eq!(
            request_id::verify_for(KEY, &all, &id, 0, 0)
                .unwrap()
                .purpose,
            issued
        );
        assert_eq!(
            request_id::verify_for(KEY, &[], &id, 0, 0),
            Err(IdError::Invalid)
        );
    }
    // The same bytes but for the MAC: ids of two purposes differ.
    let a = request_id::issue_for(KEY, Purpose::SyncApi, [4; 16], 2_000, "o");
    let b = request_id::issue_for(KEY, Purpose::Webhook, [4; 16], 2_000, "o");
    assert_eq!(a[..56], b[..56]);
    assert_ne!(a[56..], b[56..]);
    // `issue` and `verify` are the Sync API's, whose ids keep the domain ids
    // had before purposes: an id issued by an older gateway still verifies.
    assert_eq!(request_id::issue(KEY, [4; 16], 2_000, "o"), a);
    assert!(request_id::verify(KEY, &a, 0, 0).is_ok());
    assert_eq!(request_id::verify(KEY, &b, 0, 0), Err(IdError::Invalid));
}

/// A Sync API id issued before purposes existed (MAC domain
/// `syncbridge/request-id/v1`, computed here from the layout) still verifies.
#[test]
fn sync_api_ids_of_an_older_gateway_still_verify() {
    use hmac::{Hmac, Mac};
    type H = Hmac<sha2::Sha256>;
    let mut owner = H::new_from_slice(KEY).unwrap();
    owner.update(b"syncbridge/owner/v1login");
    let owner = owner.finalize().into_bytes();
    let mut raw = vec![6u8; 16];
    raw.extend_from_slice(&2_000u32.to_be_bytes());
    raw.extend_from_slice(&owner[..8]);
    let mut mac = H::new_from_slice(KEY).unwrap();
    mac.update(b"syncbridge/request-id/v1");
    mac.update(&raw);
    raw.extend_from_slice(&mac.finalize().into_bytes()[..16]);
    let old = hex::encode(raw);
    let v = request_id::verify(KEY, &old, 0, 0).unwrap();
    assert_eq!(v.purpose, Purpose::SyncApi);
    assert!(v.owned_by(KEY, "login"));
}
