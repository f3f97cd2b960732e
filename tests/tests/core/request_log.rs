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

// ---- what a record keeps of a request, redacted --------------------------

use serde_json::{json, Value};
use syncbridge_core::request_log::redact::{self, is_secret_name, REDACTED};
use syncbridge_core::request_log::{
    detail, result_key, result_record, Entry, Mode, Outcome, RequestPayload,
};

fn strings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn secret_names_are_recognised_whatever_their_case_and_separator() {
    for name in [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "x_api_key",
        "apikey",
        "X-Auth-Token",
        "X-Hub-Signature-256",
        "webhook-signature",
        "X-Shopify-Hmac-Sha256-Signature",
        "access_token",
        "accessToken",
        "refresh_token",
        "client_secret",
        "password",
        "Passwd",
        "pwd",
        "key",
        "sig",
        "otp",
        "sessionid",
        "PHPSESSID-session",
        "credentials",
        "private_key",
        "privateKey",
        "AWSAccessKeyId-accesskey",
        " Authorization ",
    ] {
        assert!(is_secret_name(name), "{name} should be secret");
    }
    for name in [
        "content-type",
        "accept",
        "user-agent",
        "x-request-id",
        "amount",
        "author",
        "keyboard",
        "monkey",
        "code",
        "to",
        "cf-connecting-ip",
        "webhook-id",
        "webhook-timestamp",
    ] {
        assert!(!is_secret_name(name), "{name} should be shown");
    }
}

#[test]
fn headers_keep_their_order_with_secret_values_replaced() {
    let token = "0123456789abcdef0123456789abcdef";
    let got = redact::headers(
        &strings(&[
            ("content-type", "application/json"),
            ("authorization", "Bearer s3cret"),
            ("cookie", "session=abc"),
            ("x-api-key", "k3y"),
            (
                "referer",
                &format!("https://gw.example/api/token/v1/{token}/x"),
            ),
            ("x-trace", "t-1"),
        ]),
        token,
    );
    assert_eq!(
        got,
        strings(&[
            ("content-type", "application/json"),
            ("authorization", REDACTED),
            ("cookie", REDACTED),
            ("x-api-key", REDACTED),
            ("referer", "https://gw.example/api/token/v1/{token_local}/x"),
            ("x-trace", "t-1"),
        ])
    );
}

#[test]
fn json_is_redacted_at_any_depth() {
    let v = json!({
        "amount": 100,
        "password": "p",
        "nested": {"client_secret": "s", "items": [{"api_key": "k", "name": "n"}]},
        "token": {"whole": "object"},
        "list": ["TOKEN-IN-TEXT"],
    });
    let got = redact::json(&v, "TOKEN-IN-TEXT");
    assert_eq!(
        got,
        json!({
            "amount": 100,
            "password": REDACTED,
            "nested": {"client_secret": REDACTED, "items": [{"api_key": REDACTED, "name": "n"}]},
            "token": REDACTED,
            "list": ["{token_local}"],
        })
    );
}

#[test]
fn query_strings_keep_their_form_with_secret_values_replaced() {
    assert_eq!(
        redact::query_string("a=1&token=xyz&api%5Fkey=k&b&sig=&c=%20", ""),
        "a=1&token=%5Bredacted%5D&api%5Fkey=%5Bredacted%5D&b&sig=%5Bredacted%5D&c=%20"
    );
    assert_eq!(
        redact::path_and_query("/api/token/v1/TKN/x", Some("password=p&q=TKN"), "TKN"),
        "/api/token/v1/{token_local}/x?password=%5Bredacted%5D&q={token_local}"
    );
    assert_eq!(
        redact::path_and_query("/api/token/v1/TKN", None, "TKN"),
        "/api/token/v1/{token_local}"
    );
}

#[test]
fn body_excerpts_are_redacted_and_bounded() {
    let json_body = br#"{"amount":100,"password":"p"}"#;
    let e = redact::body(Some("application/json; charset=utf-8"), json_body, "", 4096).unwrap();
    assert_eq!(e.text, r#"{"amount":100,"password":"[redacted]"}"#);
    assert_eq!(
        (e.bytes, e.truncated, e.encoding),
        (e.text.len(), false, None)
    );

    let form = b"user=ann&password=hunter2&x=1";
    let e = redact::body(Some("application/x-www-form-urlencoded"), form, "", 4096).unwrap();
    assert_eq!(e.text, "user=ann&password=%5Bredacted%5D&x=1");

    // Text is cut on a character boundary; the whole size is told.
    let text = "é".repeat(10); // 20 bytes
    let e = redact::body(Some("text/plain"), text.as_bytes(), "", 5).unwrap();
    assert_eq!(e.text, "éé");
    assert_eq!((e.bytes, e.truncated), (20, true));

    // Bytes that are not UTF-8 are base64.
    let e = redact::body(Some("application/octet-stream"), &[0xff, 0, 1, 2], "", 3).unwrap();
    assert_eq!(e.text, "/wAB");
    assert_eq!(e.encoding, Some("base64"));
    assert_eq!((e.bytes, e.truncated), (4, true));

    // Broken JSON is kept as text; nothing at all for an empty body; 0 keeps no text.
    let e = redact::body(Some("application/json"), b"{not json", "", 100).unwrap();
    assert_eq!(e.text, "{not json");
    assert_eq!(redact::body(Some("application/json"), b"", "", 100), None);
    let e = redact::body(None, b"abc", "", 0).unwrap();
    assert_eq!((e.text.as_str(), e.bytes, e.truncated), ("", 3, true));
}

fn entry() -> Entry {
    Entry {
        id: "e1".into(),
        channel_id: "c1".into(),
        received_at: "2026-12-01T00:00:00.000Z".into(),
        method: "POST".into(),
        url: "/api/token/v1/{token_local}".into(),
        ip: None,
        mode: Mode::Sync,
        status: 200,
        duration_ms: 3,
        outcome: Outcome::Answered,
        error: None,
        response: None,
        request: None,
        result_key: None,
    }
}

#[test]
fn the_answer_is_recorded_for_every_outcome() {
    // A process's answer: secret headers redacted.
    let mut e = entry();
    e.response = Some(
        json!({"status": 201, "headers": [["set-cookie", "s=1"], ["x-a", "b"]], "body": "ok"}),
    );
    e.finish("");
    assert_eq!(
        e.response.unwrap(),
        json!({"status": 201, "headers": [["set-cookie", REDACTED], ["x-a", "b"]], "body": "ok"})
    );
    // A JSON answer has its secret keys redacted; a cut one stays as it is.
    let mut e = entry();
    e.response = Some(json!({"status": 200, "headers": [], "body": r#"{"token":"t","n":1}"#}));
    e.finish("");
    assert_eq!(
        e.response.unwrap()["body"],
        r#"{"token":"[redacted]","n":1}"#
    );
    let mut e = entry();
    e.response = Some(json!({"status": 200, "headers": [], "body": r#"{"token":"t","n"#}));
    e.finish("");
    assert_eq!(e.response.unwrap()["body"], r#"{"token":"t","n"#);
    // The channel token is replaced in the answer's body and headers.
    let mut e = entry();
    e.response = Some(json!({"status": 200, "headers": [["x-u", "/t/TKN"]], "body": "at /t/TKN"}));
    e.finish("TKN");
    assert_eq!(
        e.response.unwrap(),
        json!({"status": 200, "headers": [["x-u", "/t/{token_local}"]], "body": "at /t/{token_local}"})
    );
    // The gateway's own error answer.
    let mut e = entry();
    e.status = 504;
    e.outcome = Outcome::TimedOut;
    e.error = Some("The process did not answer within 2 s".into());
    e.finish("");
    let r = e.response.unwrap();
    assert_eq!(r["status"], 504);
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error_code"], 1504);
    assert_eq!(
        body["error_message"],
        "The process did not answer within 2 s"
    );
    // Async: 200 with an empty body, whatever became of the handover.
    let mut e = entry();
    e.mode = Mode::Async;
    e.outcome = Outcome::Failed;
    e.error = Some("unreachable".into());
    e.finish("");
    assert_eq!(
        e.response.unwrap(),
        json!({"status": 200, "headers": [], "body": ""})
    );
}

#[test]
fn the_list_shows_the_summary_and_the_detail_shows_everything() {
    let mut e = entry();
    let query = syncbridge_core::webhook::query("/x?a=1&token=t&a=2");
    e.request = Some(RequestPayload::new(
        &query,
        &strings(&[
            ("content-type", "application/json"),
            ("authorization", "Bearer x"),
        ]),
        br#"{"n":1}"#,
        "",
        4096,
    ));
    e.result_key = Some("k".into());
    let (summary, payload) = e.documents();
    assert!(summary.get("request").is_none(), "{summary}");
    assert!(summary.get("result_key").is_none(), "{summary}");
    assert_eq!(summary["id"], "e1");
    let whole = detail(
        summary.clone(),
        Some(payload),
        Some(result_record(
            &json!({"ok": true, "secret": "s"}),
            "2026-12-01T00:00:01.000Z",
            4096,
        )),
    );
    assert_eq!(whole["id"], "e1");
    assert_eq!(
        whole["request"]["query"],
        json!({"a": ["1", "2"], "token": REDACTED})
    );
    assert_eq!(
        whole["request"]["headers"],
        json!([
            ["content-type", "application/json"],
            ["authorization", REDACTED]
        ])
    );
    assert_eq!(whole["request"]["body"]["text"], r#"{"n":1}"#);
    assert_eq!(whole["result"]["received_at"], "2026-12-01T00:00:01.000Z");
    assert_eq!(
        whole["result"]["body"]["text"],
        r#"{"ok":true,"secret":"[redacted]"}"#
    );
    // A record kept before payloads were, without a result.
    let old = detail(summary, None, None);
    assert_eq!(old["request"], Value::Null);
    assert_eq!(old["result"], Value::Null);
}

#[test]
fn result_keys_are_stable_hashes_that_hide_the_request_id() {
    let id = "AB".repeat(44);
    let k = result_key(&id);
    assert_eq!(k, result_key(&id.to_ascii_lowercase()));
    assert_eq!(k.len(), 32);
    assert!(!id.to_ascii_lowercase().contains(&k));
    assert_ne!(k, result_key(&"cd".repeat(44)));
    // Cut to the bound, redacted.
    let r = result_record(&json!({"data": "x".repeat(100)}), "t", 10);
    assert_eq!(r["body"]["text"], r#"{"data":"x"#);
    assert_eq!(r["body"]["truncated"], true);
}

// ---- listing filters -------------------------------------------------------

use syncbridge_core::request_log::{parse_listing, DELIVERY_FILTERS, REQUEST_FILTERS};

#[test]
fn listings_take_their_filters_and_name_what_they_refuse() {
    let l = parse_listing(
        &pairs(&[
            ("outcome", "failed, timed_out,failed"),
            ("mode", "sync"),
            ("limit", "9"),
        ]),
        REQUEST_FILTERS,
    )
    .unwrap();
    assert_eq!(l.limit, 9);
    assert_eq!(l.bound("outcome").as_deref(), Some(",failed,timed_out,"));
    assert_eq!(l.bound("mode").as_deref(), Some(",sync,"));
    assert_eq!(l.bound("state"), None);
    // The last of a repeated filter wins.
    let l = parse_listing(
        &pairs(&[("state", "dead"), ("state", "failed")]),
        DELIVERY_FILTERS,
    )
    .unwrap();
    assert_eq!(l.bound("state").as_deref(), Some(",failed,"));

    for (q, needle) in [
        (
            ("outcome", "lost"),
            "outcome must be one or more of answered, accepted",
        ),
        (("outcome", ""), "outcome must be one or more of"),
        (("outcome", "failed,"), "outcome must be one or more of"),
        (("mode", "SYNC"), "mode must be one or more of sync, async"),
        (
            ("state", "dead"),
            "unknown parameter state; use offset, limit, outcome, mode",
        ),
    ] {
        let e = parse_listing(&pairs(&[q]), REQUEST_FILTERS).unwrap_err();
        assert_eq!(e.status, 400, "{q:?}");
        assert!(
            e.error_message.contains(needle),
            "{q:?}: {}",
            e.error_message
        );
    }
    let e = parse_listing(&pairs(&[("state", "gone")]), DELIVERY_FILTERS).unwrap_err();
    assert!(
        e.error_message
            .contains("state must be one or more of pending, delivered, failed, dead"),
        "{}",
        e.error_message
    );
    let e = parse_listing(&pairs(&[("outcome", "failed")]), DELIVERY_FILTERS).unwrap_err();
    assert!(
        e.error_message.contains("use offset, limit, state"),
        "{}",
        e.error_message
    );
}

#[test]
fn each_outcome_is_named_as_its_record_names_it() {
    use syncbridge_core::request_log::Outcome;
    for o in [
        Outcome::Answered,
        Outcome::Accepted,
        Outcome::TimedOut,
        Outcome::Failed,
        Outcome::NoProcess,
    ] {
        assert_eq!(json!(o), json!(o.as_str()));
    }
}

#[test]
fn after_migration_0006_the_overview_counts_from_one_index_and_older_records_from_their_summaries()
{
    use syncbridge_core::stats::REQUEST_COUNTS;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/");
    let sql = |name: &str| std::fs::read_to_string(format!("{root}{name}")).unwrap();
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for m in ["0001_channels.sql", "0004_request_details.sql"] {
        conn.execute_batch(&sql(m)).unwrap();
    }
    // Records kept before the migration: the outcome in the summary only.
    let insert_old = |id: &str, at: i64, outcome: &str| {
        conn.execute(
            "INSERT INTO inbound_requests (id, channel_id, received_at_ms, expires_at_ms, doc) VALUES (?1, 'c', ?2, ?3, ?4)",
            rusqlite::params![id, at, at + 1_000_000, json!({ "outcome": outcome }).to_string()],
        )
        .unwrap();
    };
    insert_old("a", 60_000, "answered");
    insert_old("b", 61_000, "answered");
    insert_old("c", 120_000, "timed_out");
    conn.execute_batch(&sql("0006_request_outcomes.sql"))
        .unwrap();
    // They are not rewritten: their column stays empty...
    let outcome = |id: &str| -> Option<String> {
        conn.query_row(
            "SELECT outcome FROM inbound_requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(outcome("a"), None);
    // ...as is that of one written by an older worker after the migration;
    // a new worker's records have it.
    insert_old("d", 121_000, "failed");
    conn.execute(
        "INSERT INTO inbound_requests (id, channel_id, received_at_ms, expires_at_ms, doc, outcome) VALUES ('e', 'c', 122000, 9999999, '{}', 'failed')",
        [],
    )
    .unwrap();
    assert_eq!(outcome("e").as_deref(), Some("failed"));
    // Every one is counted under its outcome; a minute and outcome with
    // records of both kinds comes twice, and the overview adds them up.
    let mut counts: Vec<(i64, String, i64)> = conn
        .prepare(REQUEST_COUNTS)
        .unwrap()
        .query_map(rusqlite::params!["c", 0, 0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            (1, "answered".to_string(), 2),
            (2, "failed".to_string(), 1),
            (2, "failed".to_string(), 1),
            (2, "timed_out".to_string(), 1)
        ]
    );
    // The count reads the new index alone (the summary only of a record
    // that lacks the column, found by an index of its own), and the list
    // of a channel's records still goes newest first by an index, not by
    // scanning the table.
    let plan = |q: &str| -> String {
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {q}")).unwrap();
        let rows = st.query_map(rusqlite::params!["c", 0, 0], |r| r.get::<_, String>(3));
        rows.unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let counted = plan(REQUEST_COUNTS);
    assert!(
        counted.contains("USING COVERING INDEX inbound_requests_by_channel_outcome")
            && counted.contains("USING INDEX inbound_requests_without_outcome")
            && !counted.contains("SCAN"),
        "{counted}"
    );
    let listed = plan(
        "SELECT doc FROM inbound_requests WHERE channel_id = ?1 AND expires_at_ms >= ?2 \
         AND ?3 IS NULL ORDER BY received_at_ms DESC, id LIMIT 50",
    );
    assert!(
        listed.contains("inbound_requests_by_channel_outcome")
            && !listed.contains("SCAN inbound_requests"),
        "{listed}"
    );
}
