//! Corezoid API request signatures (`signature`).

use syncbridge_core::signature;

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
fn only_hex_digits_of_either_case_are_read_as_the_signature() {
    let (t, secret, body, good) = VECTORS[1];
    let b = body.as_bytes();
    for at in [0, 17, 39] {
        let want = good.as_bytes()[at];
        for c in (0u8..128).map(char::from).chain(['é', 'ÿ', '\u{ff10}']) {
            let mut s: String = good[..at].to_owned();
            s.push(c);
            s.push_str(&good[at + 1..]);
            let same_digit =
                c.is_ascii_hexdigit() && c.to_ascii_lowercase() as u32 == u32::from(want);
            assert_eq!(
                signature::verify(&s, t, secret, b),
                same_digit,
                "{c:?} at {at}"
            );
        }
    }
    // Mixed case throughout.
    let mixed: String = good
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    assert!(signature::verify(&mixed, t, secret, b));
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

/// The worker reads a Sync API body straight into the buffer its signature
/// covers; the check over it agrees with `verify` and `sign`, however the
/// body arrives (one copy, chunks, nothing).
#[test]
fn the_covered_buffer_verifies_as_verify_does_however_the_body_arrives() {
    for (t, secret, body, want) in VECTORS {
        let body = body.as_bytes();
        let mut whole = signature::Covered::new(t, Some(secret), 0);
        whole.reserve_body(body.len());
        whole.body_tail(body.len()).copy_from_slice(body);
        let whole = whole.seal();
        assert_eq!(whole.body(), body, "the closing secret is not body");
        assert!(whole.verify(want));
        assert!(whole.verify(&want.to_uppercase()));
        let mut chunked = signature::Covered::new(t, Some(secret), 0);
        for chunk in body.chunks(3) {
            chunked.extend_body(chunk);
        }
        assert_eq!(chunked.body().len(), body.len());
        let chunked = chunked.seal().seal();
        assert_eq!(chunked.body(), body);
        assert!(chunked.verify(want), "sealing twice adds the secret once");
        // A wrong secret, time or body, and a bad signature, are refused.
        let mut other = signature::Covered::new(t, Some("other"), 0);
        other.extend_body(body);
        assert!(!other.seal().verify(want));
        assert!(!whole.verify(&want[..39]));
        assert!(!whole.verify(&"0".repeat(40)));
    }
}

#[test]
fn the_covered_buffer_takes_no_signature_unsealed_or_without_a_secret() {
    let (t, secret, body, want) = VECTORS[1];
    let mut open = signature::Covered::new(t, Some(secret), 0);
    open.extend_body(body.as_bytes());
    assert!(!open.verify(want), "not sealed");
    // An unknown login: no secret given. Not even the signature of an empty
    // secret is taken.
    let empty = signature::sign(t, "", body.as_bytes());
    let mut unkeyed = signature::Covered::new(t, None, 0);
    unkeyed.extend_body(body.as_bytes());
    let unkeyed = unkeyed.seal();
    assert_eq!(unkeyed.body(), body.as_bytes());
    assert!(!unkeyed.verify(&empty));
    // A login whose secret is empty is a login all the same.
    let mut keyed = signature::Covered::new(t, Some(""), 0);
    keyed.extend_body(body.as_bytes());
    assert!(keyed.seal().verify(&empty));
}
