//! `AllowList::parse` (the first line) and `check_destination` (the rest).
#![no_main]
use libfuzzer_sys::fuzz_target;
use syncbridge_core::outbound::{check_destination, AllowList};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (list, url) = text
        .split_once('\n')
        .unwrap_or((&text, "https://example.com/"));
    let Ok(list) = AllowList::parse(list) else {
        return;
    };
    if check_destination(url, &list).is_ok() {
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let authority = rest
            .expect("allowed without http(s)")
            .split(['/', '?', '#'])
            .next()
            .unwrap();
        assert!(!authority.contains('@'));
        assert!(!url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\'));
    }
});
