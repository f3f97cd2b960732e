//! The process's callback (`callback::parse`), the engine's reply
//! (`engine::classify`) and a sync webhook's answer (`webhook::reply`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use syncbridge_core::{callback, engine, webhook};

fuzz_target!(|data: &[u8]| {
    let ok = callback::parse(data, 4096).is_ok();
    let want = data.len() <= 4096 && matches!(serde_json::from_slice(data), Ok(Value::Object(_)));
    assert_eq!(ok, want);
    let status = data.first().map_or(200, |&b| 100 + u16::from(b) * 2);
    let _ = engine::classify(status, data);
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        if let Ok(r) = webhook::reply(&v) {
            assert!((200..=599).contains(&r.status));
            for (n, v) in &r.headers {
                assert!(!n.is_empty() && !v.contains(['\r', '\n']));
            }
        }
    }
});
