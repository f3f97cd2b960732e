//! `outbound::parse_config` (templates, header lines, the retry policy),
//! `render` with the variables that follow it, and `decide` with a
//! `Retry-After` taken from the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use syncbridge_core::outbound;

fuzz_target!(|data: &[u8]| {
    // `{config JSON}\n{variables JSON}\n{Retry-After}`
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let config = parts.next().unwrap_or_default();
    let vars = parts.next().unwrap_or_default();
    let retry_after = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let Ok(v) = serde_json::from_slice::<Value>(config) else {
        return;
    };
    let Ok(c) = outbound::parse_config(&v) else {
        return;
    };
    let again = outbound::parse_config(&serde_json::to_value(&c).unwrap());
    assert_eq!(again.as_ref(), Ok(&c));
    let vars: Map<String, Value> = serde_json::from_slice(vars).unwrap_or_default();
    if let Ok(r) = outbound::render(&c, "https://x.example/h?a=1#f", &vars, "cb") {
        for (_, v) in &r.headers {
            assert!(!v.contains(['\r', '\n', '\0']));
        }
    }
    for attempt in [1, 2, 30, u32::MAX] {
        if let outbound::Verdict::Retry { delay_s } = outbound::decide(
            &c.retry,
            attempt,
            Some(503),
            Some(&retry_after),
            1_800_000_000,
            0.5,
        ) {
            assert!(delay_s <= outbound::MAX_DELAY_S);
        }
    }
});
