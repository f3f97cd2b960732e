//! `webhook::event` (with `body_value`, `cookies`, `query`), `is_sync`
//! and CORS, on a request read from the input: the first line is the URL,
//! then `name: value` header lines, a blank line and the body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use syncbridge_core::channel;

/// Equal JSON, floats within 4 ULPs: serde_json (without its
/// `float_roundtrip` feature) reads some numbers 1 ULP off the nearest
/// double, so a float may not survive printing and reading back exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => a == b,
    }
}
use syncbridge_core::webhook::{self, Inbound};

fuzz_target!(|data: &[u8]| {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let body = data.get(split + 2..).unwrap_or_default();
    let mut lines = head.lines();
    let url = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let ch = channel::create(&serde_json::json!({"code": "c", "opts": {"issync": true, "cors_origins": ["https://a.example", "*"]}}), "id".into(), "t".repeat(32), "now").unwrap();
    let inbound = Inbound {
        method: "POST",
        url: &url,
        headers: &headers,
        body,
        ip: None,
        protocol: "https",
    };
    let ev = webhook::event(
        &inbound,
        &ch,
        "e",
        !webhook::is_sync(&ch, &url),
        "https://gw/cb",
    );
    let text = serde_json::to_string(&ev).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert!(same(&back, &ev), "{back} != {ev}");
    let origin = headers
        .iter()
        .find(|(k, _)| k == "origin")
        .map(|(_, v)| v.as_str());
    let _ = webhook::preflight(&ch.opts.cors_origins, origin, Some("POST"), Some("x-a"));
});
