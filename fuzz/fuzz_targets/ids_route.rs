//! Signed ids (`request_id::verify`, `websocket::connection_id_ok`) and the
//! route table (`route::route`, `effective_method`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use syncbridge_core::{request_id, route, websocket};

const KEY: &[u8] = b"fuzz-callback-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(request_id::verify(KEY, &text, 0, u64::MAX).is_err());
    assert!(!websocket::connection_id_ok(KEY, "ch", &text, 0));
    // A real id with the input's bytes XORed in is refused unless nothing changed.
    let id = request_id::issue(KEY, [7; 16], 2_000_000_000, "login");
    let mut raw: Vec<u8> = (0..id.len() / 2)
        .map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    for (i, b) in data.iter().enumerate() {
        raw[i % 44] ^= b;
    }
    let mutated: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        request_id::verify(KEY, &mutated, 0, 0).is_ok(),
        mutated == id
    );
    let (method, path) = text.split_once(' ').unwrap_or(("GET", &text));
    let m = route::effective_method(method, Some("LOOKUP"));
    let _ = route::route(m, path).template();
});
