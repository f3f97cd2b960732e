//! The inbound request log (`request_log`): paging.

use syncbridge_core::request_log::{parse_paging, MAX_OFFSET};

fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
    q.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn offsets_past_what_d1_can_bind_are_refused() {
    assert_eq!(
        parse_paging(&pairs(&[("offset", "9007199254740991")])).map(|p| p.0),
        Ok(MAX_OFFSET)
    );
    for big in ["9007199254740992", "18446744073709551615"] {
        let e = parse_paging(&pairs(&[("offset", big)])).unwrap_err();
        assert_eq!(e.status, 400, "{big}");
    }
}
