//! `sync_api::parse` and `authenticate` on any body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use syncbridge_core::{signature, sync_api, Settings};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = sync_api::parse(data, 5) {
        assert!(!req.ops.is_empty() && req.ops.len() <= 5);
        if let Some(t) = req.timeout_s {
            assert!(t.is_finite() && t > 0.0);
        }
    }
    // The first line is `login/unixtime/signature`; the rest is the body.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut parts = head.splitn(3, '/');
    let (login, t, sig) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let settings = Settings::from_lookup(|k| match k {
        "API_KEYS" => Some(r#"{"login":"s3cret"}"#.into()),
        "CALLBACK_SECRET" => Some("0123456789abcdef0123".into()),
        _ => None,
    })
    .unwrap();
    if sync_api::authenticate(&settings, login, t, sig, body, 1_800_000_000).is_ok() {
        assert!(signature::verify(sig, t, "s3cret", body));
    }
});
