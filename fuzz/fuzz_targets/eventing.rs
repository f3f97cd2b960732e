//! `eventing::parse_publish`, `parse_subscription`, `parse_patterns`,
//! `patterns_from_query` and `matches`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use syncbridge_core::eventing;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(ps) = eventing::patterns_from_query(Some(&text)) {
        assert_eq!(eventing::parse_patterns(&ps).as_ref(), Ok(&ps));
        let _ = eventing::matches(&ps, &text);
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok((kind, _)) = eventing::parse_publish(&v) {
        let ps = eventing::parse_patterns(std::slice::from_ref(&kind)).unwrap();
        assert!(eventing::matches(&ps, &kind));
    }
    let _ = eventing::parse_subscription(&v, "id".into(), "now");
    if let Value::Array(items) = &v {
        let strings: Vec<String> = items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect();
        let _ = eventing::parse_patterns(&strings);
    }
});
