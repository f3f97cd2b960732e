//! List parameters as a URL query: `channel::parse_list_query` with the SQL
//! it becomes, `parse_get_query` and `request_log::parse_paging`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use syncbridge_core::{channel, request_log};

fn pairs(data: &[u8]) -> Vec<(String, String)> {
    // `&`-separated `name=value`, percent-decoded like a URL's query.
    String::from_utf8_lossy(data)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                let mut out = Vec::new();
                let b = s.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%'
                        && i + 2 < b.len()
                        && b[i + 1].is_ascii_hexdigit()
                        && b[i + 2].is_ascii_hexdigit()
                    {
                        let hex = |c: u8| (c as char).to_digit(16).unwrap() as u8;
                        out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                        i += 3;
                        continue;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                String::from_utf8_lossy(&out).into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let pairs = pairs(data);
    if let Ok(q) = channel::parse_list_query(&pairs) {
        let (sql, binds) = channel::list_sql(&q);
        assert_eq!(sql.matches('?').count(), binds.len(), "{sql}");
        assert!(!sql.contains(';') && !sql.contains("--"), "{sql}");
    }
    let _ = channel::parse_get_query(&pairs);
    if let Ok((offset, limit)) = request_log::parse_paging(&pairs) {
        assert!(offset <= request_log::MAX_OFFSET && limit <= request_log::MAX_PAGE);
    }
});
