//! Eventing: publish bodies, event-type grammar and reserved prefixes,
//! subscription patterns (body and query) and their matching, webhook
//! subscription bodies, the replay buffer (numeric ids, gaps, caps) and the
//! per-connection rate limiter.

use serde_json::{json, Value};
use syncbridge_core::config::DEFAULT_EVENT_BUFFER;
use syncbridge_core::eventing::*;

// ---------------------------------------------------------------------------
// Helpers

use syncbridge_tests::assert_rest_err as assert_err;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn event(id: &str) -> Event {
    Event {
        id: id.to_owned(),
        kind: "order.paid".to_owned(),
        ts: "2024-01-01T00:00:00Z".to_owned(),
        data: json!({"n": id}),
    }
}

fn buffer(ids: &[u64]) -> Buffer {
    let mut b = Buffer::default();
    for id in ids {
        b.push(event(&id.to_string()), DEFAULT_EVENT_BUFFER);
    }
    b
}

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

fn id_list(ids: &[u64]) -> Vec<String> {
    ids.iter().map(u64::to_string).collect()
}

// ---------------------------------------------------------------------------
// Event

#[test]
fn event_serializes_kind_as_type() {
    let e = event("7");
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(
        v,
        json!({"id": "7", "type": "order.paid", "ts": "2024-01-01T00:00:00Z", "data": {"n": "7"}})
    );
    let back: Event = serde_json::from_value(v).unwrap();
    assert_eq!(back, e);
}

#[test]
fn constants_are_as_documented() {
    assert_eq!(MAX_TYPE_LEN, 128);
    assert_eq!(MAX_PATTERNS, 32);
    assert_eq!(DEFAULT_EVENT_BUFFER, 1000);
    assert_eq!(CLOSE_MESSAGE_TOO_BIG, 1009);
    assert_eq!(CLOSE_POLICY_VIOLATION, 1008);
    assert_eq!(CLOSE_TRY_AGAIN_LATER, 1013);
}

#[test]
fn gateway_event_types_are_reserved_and_subscribable() {
    let all = [
        WEBHOOK_RECEIVED,
        WEBHOOK_ANSWERED,
        WEBHOOK_TIMED_OUT,
        WEBHOOK_FAILED,
        DELIVERY_FAILED,
        DELIVERY_DEAD,
    ];
    for kind in all {
        // A process cannot publish them...
        assert_err(
            parse_publish(&json!({"type": kind})),
            400,
            &["`type`", "reserved"],
        );
        // ...but a subscriber can name them, exactly or by prefix.
        assert_eq!(parse_patterns(&strings(&[kind])).unwrap(), vec![kind]);
        assert!(matches(&strings(&[kind]), kind));
        assert!(matches(&strings(&["gateway.*"]), kind));
    }
    let webhook = strings(&["gateway.webhook.*"]);
    assert!(matches(&webhook, WEBHOOK_TIMED_OUT));
    assert!(!matches(&webhook, DELIVERY_DEAD));
}

// ---------------------------------------------------------------------------
// parse_publish

#[test]
fn publish_reads_type_and_data() {
    let (kind, data) =
        parse_publish(&json!({"type": "order.paid", "data": {"id": 5, "x": [1]}})).unwrap();
    assert_eq!(kind, "order.paid");
    assert_eq!(data, json!({"id": 5, "x": [1]}));
}

#[test]
fn publish_data_absent_or_null_is_empty_object() {
    let (kind, data) = parse_publish(&json!({"type": "ping"})).unwrap();
    assert_eq!(kind, "ping");
    assert_eq!(data, json!({}));
    let (_, data) = parse_publish(&json!({"type": "ping", "data": null})).unwrap();
    assert_eq!(data, json!({}));
    let (_, data) = parse_publish(&json!({"data": {}, "type": "ping"})).unwrap();
    assert_eq!(data, json!({}));
}

#[test]
fn publish_data_must_be_object() {
    for data in [json!([]), json!([1]), json!("x"), json!(1), json!(true)] {
        assert_err(
            parse_publish(&json!({"type": "a", "data": data})),
            400,
            &["`data`", "object"],
        );
    }
}

#[test]
fn publish_body_must_be_object() {
    for body in [json!(null), json!([]), json!("a"), json!(1), json!(true)] {
        assert_err(parse_publish(&body), 400, &["publish body", "object"]);
    }
}

#[test]
fn publish_refuses_unknown_keys() {
    let msg = assert_err(
        parse_publish(&json!({"type": "a", "data": {}, "id": "1"})),
        400,
        &["`id`", "not a known field"],
    );
    assert!(msg.contains("type") && msg.contains("data"), "{msg}");
    assert_err(
        parse_publish(&json!({"type": "a", "ts": "x"})),
        400,
        &["`ts`"],
    );
    // Keys are case-sensitive.
    assert_err(parse_publish(&json!({"Type": "a"})), 400, &["`Type`"]);
}

#[test]
fn publish_type_required_and_string() {
    assert_err(parse_publish(&json!({})), 400, &["`type`", "required"]);
    assert_err(
        parse_publish(&json!({"data": {}})),
        400,
        &["`type`", "required"],
    );
    assert_err(
        parse_publish(&json!({"type": null})),
        400,
        &["`type`", "required"],
    );
    for t in [json!(1), json!(["a"]), json!({"a": 1}), json!(true)] {
        assert_err(
            parse_publish(&json!({"type": t})),
            400,
            &["`type`", "string"],
        );
    }
}

#[test]
fn publish_type_grammar_accepts() {
    for t in [
        "a",
        "A",
        "0",
        "order.paid",
        "order_paid",
        "order-paid",
        "Order.Paid.V2",
        "a.b.c.d.e.f",
        "_._",
        "-.-",
        "1.2.3",
        "gateway",       // only `gateway.` is reserved
        "gatewayx.y",    // not the reserved prefix
        "my.gateway.x",  // `gateway.` elsewhere is fine
        "Gateway.thing", // the prefix is case-sensitive
    ] {
        let (kind, _) = parse_publish(&json!({"type": t})).unwrap_or_else(|e| panic!("{t}: {e:?}"));
        assert_eq!(kind, t);
    }
}

#[test]
fn publish_type_grammar_refuses() {
    for t in [
        "",
        ".",
        ".a",
        "a.",
        "a..b",
        "a...b",
        " a",
        "a ",
        "a b",
        "a\tb",
        "a\nb",
        "a/b",
        "a:b",
        "a*",
        "a.*",
        "*",
        "a.b$",
        "a+b",
        "a,b",
        "é",
        "order.payé",
        "заказ.оплачен",
        "emoji.😀",
        "a\u{0}b",
        "ａ", // full-width letter
    ] {
        let msg = assert_err(parse_publish(&json!({"type": t})), 400, &["`type`"]);
        assert!(!msg.contains("reserved"), "{t:?}: {msg}");
    }
    assert_err(
        parse_publish(&json!({"type": ""})),
        400,
        &["`type`", "empty"],
    );
    assert_err(
        parse_publish(&json!({"type": "a..b"})),
        400,
        &["`type`", "segments", "single dots"],
    );
}

#[test]
fn publish_type_reserved_prefixes() {
    for t in [
        "$",
        "$a",
        "$system.x",
        "gateway.",
        "gateway.x",
        "gateway.webhook.received",
        "gateway.anything.new",
    ] {
        assert_err(
            parse_publish(&json!({"type": t})),
            400,
            &["`type`", "reserved", "gateway."],
        );
    }
}

#[test]
fn publish_type_length_boundary() {
    let max = "a".repeat(MAX_TYPE_LEN);
    let (kind, _) = parse_publish(&json!({"type": max})).unwrap();
    assert_eq!(kind.len(), MAX_TYPE_LEN);

    let dotted = format!("{}.{}", "a".repeat(63), "b".repeat(64));
    assert_eq!(dotted.len(), MAX_TYPE_LEN);
    assert!(parse_publish(&json!({"type": dotted})).is_ok());

    let over = "a".repeat(MAX_TYPE_LEN + 1);
    assert_err(
        parse_publish(&json!({"type": over})),
        400,
        &["`type`", "longer than 128"],
    );
    // Long and invalid: still refused.
    let long_unicode = "é".repeat(MAX_TYPE_LEN + 1);
    assert_err(
        parse_publish(&json!({"type": long_unicode})),
        400,
        &["`type`"],
    );
}

// ---------------------------------------------------------------------------
// parse_patterns

#[test]
fn patterns_grammar_table() {
    // (pattern, accepted)
    let table: &[(&str, bool)] = &[
        ("*", true),
        ("a", true),
        ("order.paid", true),
        ("order.*", true),
        ("order.paid.*", true),
        ("a-b_c.D-9.*", true),
        ("gateway.*", true),
        ("gateway.webhook.received", true),
        ("gateway", true),
        ("a*", false),
        ("*a", false),
        ("*.b", false),
        ("a.*.b", false),
        ("a.*.*", false),
        ("a.**", false),
        ("**", false),
        ("*.*", false),
        (".*", false),
        ("a*.b", false),
        ("a.b*", false),
        ("a..*", false),
        ("a..b", false),
        (".a", false),
        ("a.", false),
        ("a. *", false),
        ("a b", false),
        ("é.*", false),
        ("$a", false),
        ("$.*", false),
        ("a?", false),
        ("a.%", false),
    ];
    for (p, ok) in table {
        let got = parse_patterns(&strings(&[p]));
        if *ok {
            assert_eq!(got.unwrap(), vec![p.to_string()], "{p:?}");
        } else {
            assert_err(got, 400, &["`events[0]`"]);
        }
    }
}

#[test]
fn patterns_error_names_index_and_wildcards() {
    let msg = assert_err(
        parse_patterns(&strings(&["a", "b.*", "a.*.b"])),
        400,
        &["`events[2]`", "a.*.b", "wildcard"],
    );
    assert!(msg.contains("order.*"), "{msg}");
    assert_err(
        parse_patterns(&strings(&["a", ""])),
        400,
        &["`events[1]`", "empty"],
    );
    assert_err(
        parse_patterns(&strings(&["   "])),
        400,
        &["`events[0]`", "empty"],
    );
}

#[test]
fn patterns_error_escapes_control_characters() {
    let msg = assert_err(
        parse_patterns(&strings(&["a\u{1b}[31m"])),
        400,
        &["`events[0]`"],
    );
    assert!(!msg.contains('\u{1b}'), "{msg:?}");
}

#[test]
fn patterns_empty_list_is_all() {
    assert_eq!(parse_patterns(&[]).unwrap(), Vec::<String>::new());
}

#[test]
fn patterns_trim_whitespace() {
    assert_eq!(
        parse_patterns(&strings(&[" order.* ", "\tpaid\n", " * "])).unwrap(),
        strings(&["order.*", "paid", "*"])
    );
}

#[test]
fn patterns_drop_duplicates_keeping_first_order() {
    assert_eq!(
        parse_patterns(&strings(&["b", "a", "b", " a ", "c.*", "c.*", "*", "*"])).unwrap(),
        strings(&["b", "a", "c.*", "*"])
    );
}

#[test]
fn patterns_limit() {
    let exactly: Vec<String> = (0..MAX_PATTERNS).map(|i| format!("t{i}")).collect();
    assert_eq!(parse_patterns(&exactly).unwrap(), exactly);

    let over: Vec<String> = (0..=MAX_PATTERNS).map(|i| format!("t{i}")).collect();
    assert_err(parse_patterns(&over), 400, &["`events`", "32"]);

    // The limit counts distinct patterns: duplicates beyond it are fine.
    let mut dup = exactly.clone();
    dup.extend(exactly.iter().cloned());
    dup.push(" t0 ".into());
    assert_eq!(parse_patterns(&dup).unwrap(), exactly);
}

#[test]
fn patterns_length_boundary() {
    let max = "a".repeat(MAX_TYPE_LEN);
    assert_eq!(
        parse_patterns(std::slice::from_ref(&max)).unwrap(),
        vec![max.clone()]
    );
    let prefix = format!("{max}.*");
    assert_eq!(
        parse_patterns(std::slice::from_ref(&prefix)).unwrap(),
        vec![prefix]
    );

    let over = "a".repeat(MAX_TYPE_LEN + 1);
    assert_err(
        parse_patterns(std::slice::from_ref(&over)),
        400,
        &["`events[0]`", "longer than 128"],
    );
    assert_err(
        parse_patterns(&[format!("{over}.*")]),
        400,
        &["`events[0]`", "longer than 128"],
    );
}

// ---------------------------------------------------------------------------
// patterns_from_query

#[test]
fn query_absent_or_empty_is_all() {
    assert!(patterns_from_query(None).unwrap().is_empty());
    assert!(patterns_from_query(Some("")).unwrap().is_empty());
    assert!(patterns_from_query(Some(" , ,, ")).unwrap().is_empty());
}

#[test]
fn query_splits_trims_and_skips_empty_items() {
    assert_eq!(
        patterns_from_query(Some("a.*,b")).unwrap(),
        strings(&["a.*", "b"])
    );
    assert_eq!(
        patterns_from_query(Some(" a.* , ,b,,  c.d ,")).unwrap(),
        strings(&["a.*", "b", "c.d"])
    );
    assert_eq!(
        patterns_from_query(Some("b,a,b,*")).unwrap(),
        strings(&["b", "a", "*"])
    );
    assert_eq!(
        patterns_from_query(Some("gateway.*")).unwrap(),
        strings(&["gateway.*"])
    );
}

#[test]
fn query_refuses_bad_patterns() {
    assert_err(
        patterns_from_query(Some("a.*,*.b")),
        400,
        &["`events[1]`", "*.b"],
    );
    assert_err(patterns_from_query(Some("a*")), 400, &["`events[0]`"]);
    assert_err(patterns_from_query(Some("a b")), 400, &["`events[0]`"]);
    let many: Vec<String> = (0..=MAX_PATTERNS).map(|i| format!("t{i}")).collect();
    assert_err(
        patterns_from_query(Some(&many.join(","))),
        400,
        &["`events`", "32"],
    );
}

// ---------------------------------------------------------------------------
// matches

#[test]
fn matches_empty_list_and_star_match_all() {
    for kind in ["a", "order.paid", "gateway.webhook.received"] {
        assert!(matches(&[], kind));
        assert!(matches(&strings(&["*"]), kind));
        assert!(matches(&strings(&["zzz", "*"]), kind));
    }
}

#[test]
fn matches_table() {
    // (patterns, kind, expected)
    let table: &[(&[&str], &str, bool)] = &[
        (&["order.paid"], "order.paid", true),
        (&["order.paid"], "order.paid.late", false),
        (&["order.paid"], "order", false),
        (&["order.paid"], "Order.Paid", false),
        (&["order"], "order.paid", false),
        (&["order.*"], "order.paid", true),
        (&["order.*"], "order.paid.late", true),
        (&["order.*"], "order", false),
        (&["order.*"], "orders.paid", false),
        (&["order.*"], "xorder.paid", false),
        (&["order.*"], "ORDER.paid", false),
        (&["order.paid.*"], "order.paid", false),
        (&["order.paid.*"], "order.paid.x", true),
        (&["order.paid.*"], "order.refunded.x", false),
        (&["a", "b.*"], "b.c", true),
        (&["a", "b.*"], "a", true),
        (&["a", "b.*"], "c", false),
        (&["gateway.*"], "gateway.delivery.dead", true),
        (&["gateway.delivery.*"], "gateway.webhook.failed", false),
    ];
    for (patterns, kind, expected) in table {
        assert_eq!(
            matches(&strings(patterns), kind),
            *expected,
            "{patterns:?} vs {kind:?}"
        );
    }
}

#[test]
fn matches_parsed_query_patterns() {
    let patterns = patterns_from_query(Some("order.*, user.created")).unwrap();
    assert!(matches(&patterns, "order.paid"));
    assert!(matches(&patterns, "user.created"));
    assert!(!matches(&patterns, "user.deleted"));
    assert!(!matches(&patterns, "order"));
}

// ---------------------------------------------------------------------------
// parse_subscription

const NOW: &str = "2024-05-06T07:08:09Z";

#[test]
fn subscription_reads_url_and_events() {
    let s = parse_subscription(
        &json!({"url": "https://hooks.example/x?y=1", "events": ["order.*", "user.created", "order.*"]}),
        "sub_1".into(),
        NOW,
    )
    .unwrap();
    assert_eq!(
        s,
        Subscription {
            id: "sub_1".into(),
            url: "https://hooks.example/x?y=1".into(),
            events: strings(&["order.*", "user.created"]),
            created_at: NOW.into(),
        }
    );
}

#[test]
fn subscription_events_optional() {
    for body in [
        json!({"url": "https://a.example"}),
        json!({"url": "https://a.example", "events": []}),
        json!({"url": "https://a.example", "events": null}),
    ] {
        let s = parse_subscription(&body, "i".into(), NOW).unwrap();
        assert!(s.events.is_empty(), "{body}");
        assert_eq!(s.url, "https://a.example");
    }
}

#[test]
fn subscription_events_may_name_gateway_events() {
    let s = parse_subscription(
        &json!({"url": "https://a.example", "events": ["gateway.*", WEBHOOK_FAILED]}),
        "i".into(),
        NOW,
    )
    .unwrap();
    assert_eq!(s.events, strings(&["gateway.*", WEBHOOK_FAILED]));
}

#[test]
fn subscription_events_errors() {
    let url = "https://a.example";
    for events in [json!("a.*"), json!({"a": 1}), json!(1), json!(true)] {
        assert_err(
            parse_subscription(&json!({"url": url, "events": events}), "i".into(), NOW),
            400,
            &["`events`", "array"],
        );
    }
    assert_err(
        parse_subscription(&json!({"url": url, "events": ["a", 1]}), "i".into(), NOW),
        400,
        &["`events[1]`", "string"],
    );
    assert_err(
        parse_subscription(&json!({"url": url, "events": ["a", null]}), "i".into(), NOW),
        400,
        &["`events[1]`", "string"],
    );
    assert_err(
        parse_subscription(
            &json!({"url": url, "events": ["a", "*.b"]}),
            "i".into(),
            NOW,
        ),
        400,
        &["`events[1]`"],
    );
    let many: Vec<Value> = (0..=MAX_PATTERNS).map(|i| json!(format!("t{i}"))).collect();
    assert_err(
        parse_subscription(&json!({"url": url, "events": many}), "i".into(), NOW),
        400,
        &["`events`", "32"],
    );
}

#[test]
fn subscription_body_shape() {
    for body in [json!(null), json!([]), json!("https://a"), json!(1)] {
        assert_err(
            parse_subscription(&body, "i".into(), NOW),
            400,
            &["subscribe body", "object"],
        );
    }
    let msg = assert_err(
        parse_subscription(
            &json!({"url": "https://a.example", "secret": "x"}),
            "i".into(),
            NOW,
        ),
        400,
        &["`secret`", "not a known field"],
    );
    assert!(msg.contains("url") && msg.contains("events"), "{msg}");
    assert_err(
        parse_subscription(
            &json!({"url": "https://a.example", "id": "mine"}),
            "i".into(),
            NOW,
        ),
        400,
        &["`id`"],
    );
}

#[test]
fn subscription_url_required_and_string() {
    assert_err(
        parse_subscription(&json!({}), "i".into(), NOW),
        400,
        &["`url`", "required"],
    );
    assert_err(
        parse_subscription(&json!({"events": ["a"]}), "i".into(), NOW),
        400,
        &["`url`", "required"],
    );
    assert_err(
        parse_subscription(&json!({"url": null}), "i".into(), NOW),
        400,
        &["`url`"],
    );
    for url in [
        json!(1),
        json!(["https://a"]),
        json!({"u": 1}),
        json!(false),
    ] {
        assert_err(
            parse_subscription(&json!({"url": url}), "i".into(), NOW),
            400,
            &["`url`", "string"],
        );
    }
}

#[test]
fn subscription_url_schemes() {
    for url in [
        "http://a.example",
        "https://a.example",
        "HTTPS://A.EXAMPLE/Path",
        "Http://a.example:8080/x",
        "hTtPs://a",
        "https://127.0.0.1:9/x?y#z",
        "https://[::1]/",
        "https://user@a.example/",
        "https://a.example/é", // non-ASCII is not whitespace or control
    ] {
        let s = parse_subscription(&json!({"url": url}), "i".into(), NOW)
            .unwrap_or_else(|e| panic!("{url}: {e:?}"));
        assert_eq!(s.url, url, "kept as given");
    }
    for url in [
        "",
        "a.example",
        "ftp://a.example",
        "ws://a.example",
        "wss://a.example",
        "javascript:alert(1)",
        "http:/a.example",
        "http:a.example",
        "//a.example",
        "https//a.example",
        "http://",
        "https://",
        "https:///path",
        "https://?q",
        "https://#f",
        "httpx://a.example",
    ] {
        assert_err(
            parse_subscription(&json!({"url": url}), "i".into(), NOW),
            400,
            &["`url`"],
        );
    }
}

#[test]
fn subscription_url_refuses_whitespace_and_control() {
    for url in [
        " https://a.example",
        "https://a.example ",
        "https://a.example/a b",
        "https://a.example/\t",
        "https://a.example/\n",
        "https://a.example/\r\nX-Injected: 1",
        "https://a.example/\u{0}",
        "https://a.example/\u{7f}",
        "https://a.example/\u{a0}",   // no-break space
        "https://a.example/\u{2028}", // line separator
        "https://a.example/\u{85}",   // next line (C1)
    ] {
        assert_err(
            parse_subscription(&json!({"url": url}), "i".into(), NOW),
            400,
            &["`url`", "whitespace or control"],
        );
    }
}

#[test]
fn subscription_url_length_boundary() {
    let base = "https://a.example/";
    let max = format!("{base}{}", "x".repeat(2048 - base.len()));
    assert_eq!(max.len(), 2048);
    let s = parse_subscription(&json!({"url": max}), "i".into(), NOW).unwrap();
    assert_eq!(s.url.len(), 2048);

    let over = format!("{max}x");
    assert_err(
        parse_subscription(&json!({"url": over}), "i".into(), NOW),
        400,
        &["`url`", "2048"],
    );
}

#[test]
fn subscription_serde_round_trip() {
    let s = parse_subscription(
        &json!({"url": "https://a.example", "events": ["x.*"]}),
        "sub_9".into(),
        NOW,
    )
    .unwrap();
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(
        v,
        json!({"id": "sub_9", "url": "https://a.example", "events": ["x.*"], "created_at": NOW})
    );
    assert_eq!(serde_json::from_value::<Subscription>(v).unwrap(), s);
}

// ---------------------------------------------------------------------------
// Buffer::push

#[test]
fn push_keeps_order_and_drops_oldest_beyond_cap() {
    let mut b = Buffer::default();
    for i in 1..=5 {
        b.push(event(&i.to_string()), 3);
    }
    assert_eq!(ids(&Vec::from(b.events.clone())), id_list(&[3, 4, 5]));
}

#[test]
fn push_cap_boundaries() {
    // Exactly at the cap: nothing dropped.
    let mut b = Buffer::default();
    for i in 1..=3 {
        b.push(event(&i.to_string()), 3);
    }
    assert_eq!(b.events.len(), 3);
    assert_eq!(b.events.front().unwrap().id, "1");
    // One more: the oldest goes.
    b.push(event("4"), 3);
    assert_eq!(b.events.len(), 3);
    assert_eq!(b.events.front().unwrap().id, "2");
    assert_eq!(b.events.back().unwrap().id, "4");

    // Cap 1 keeps only the newest.
    let mut one = Buffer::default();
    one.push(event("1"), 1);
    one.push(event("2"), 1);
    assert_eq!(ids(&Vec::from(one.events.clone())), id_list(&[2]));

    // Cap 0 keeps nothing.
    let mut zero = Buffer::default();
    zero.push(event("1"), 0);
    zero.push(event("2"), 0);
    assert!(zero.events.is_empty());
}

#[test]
fn push_with_smaller_cap_shrinks_buffer() {
    let mut b = buffer(&[1, 2, 3, 4, 5, 6]);
    b.push(event("7"), 2);
    assert_eq!(ids(&Vec::from(b.events.clone())), id_list(&[6, 7]));
}

#[test]
fn push_default_buffer_size() {
    let mut b = Buffer::default();
    for i in 1..=(DEFAULT_EVENT_BUFFER as u64 + 10) {
        b.push(event(&i.to_string()), DEFAULT_EVENT_BUFFER);
    }
    assert_eq!(b.events.len(), DEFAULT_EVENT_BUFFER);
    assert_eq!(b.events.front().unwrap().id, "11");
    assert_eq!(b.events.back().unwrap().id, "1010");
}

#[test]
fn buffer_serde_round_trip() {
    let b = buffer(&[1, 2]);
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["events"][1]["id"], "2");
    assert_eq!(v["events"][0]["type"], "order.paid");
    assert_eq!(serde_json::from_value::<Buffer>(v).unwrap(), b);
}

// ---------------------------------------------------------------------------
// Buffer::since

#[test]
fn since_returns_events_after_last_in_order() {
    let b = buffer(&[1, 2, 3, 4, 5]);
    let r = b.since("2");
    assert_eq!(ids(&r.events), id_list(&[3, 4, 5]));
    assert!(!r.gap);
    assert_eq!(r.events[0], event("3"), "events are returned whole");

    let r = b.since("0");
    assert_eq!(ids(&r.events), id_list(&[1, 2, 3, 4, 5]));
    assert!(!r.gap, "0 means saw nothing; event 1 is still buffered");
}

#[test]
fn since_compares_ids_numerically() {
    // Lexicographically "10" < "9"; numerically 9 < 10.
    let b = buffer(&[8, 9, 10, 11, 100]);
    let r = b.since("9");
    assert_eq!(ids(&r.events), id_list(&[10, 11, 100]));
    assert!(!r.gap);

    let r = b.since("10");
    assert_eq!(ids(&r.events), id_list(&[11, 100]));

    let r = b.since("99");
    assert_eq!(ids(&r.events), id_list(&[100]));
    assert!(!r.gap, "oldest (8) is not after 100");

    let b = buffer(&[99, 100, 101]);
    let r = b.since("100");
    assert_eq!(ids(&r.events), id_list(&[101]));
    let r = b.since("98");
    assert_eq!(ids(&r.events), id_list(&[99, 100, 101]));
    assert!(!r.gap);
    let r = b.since("97");
    assert!(r.gap, "98 was dropped");
}

#[test]
fn since_leading_zeros_are_numbers() {
    let b = buffer(&[1, 2, 3]);
    let r = b.since("002");
    assert_eq!(ids(&r.events), id_list(&[3]));
    assert!(!r.gap);
}

#[test]
fn since_at_or_past_newest_replays_nothing_without_gap() {
    let b = buffer(&[5, 6, 7]);
    for last in ["7", "8", "1000", &u64::MAX.to_string()] {
        let r = b.since(last);
        assert!(r.events.is_empty(), "{last}");
        assert!(!r.gap, "{last}");
    }
}

#[test]
fn since_reports_gap_when_events_were_dropped() {
    let mut b = Buffer::default();
    for i in 1..=10 {
        b.push(event(&i.to_string()), 4);
    }
    // Buffer holds 7..=10.
    let r = b.since("6");
    assert_eq!(ids(&r.events), id_list(&[7, 8, 9, 10]));
    assert!(!r.gap, "6 seen, 7 is the oldest: nothing missing");

    let r = b.since("5");
    assert_eq!(ids(&r.events), id_list(&[7, 8, 9, 10]));
    assert!(r.gap, "6 was dropped");

    let r = b.since("0");
    assert_eq!(ids(&r.events), id_list(&[7, 8, 9, 10]));
    assert!(r.gap);

    let r = b.since("8");
    assert_eq!(ids(&r.events), id_list(&[9, 10]));
    assert!(!r.gap);
}

#[test]
fn since_gap_with_multi_digit_ids() {
    // Oldest is "10": a lexicographic compare would think "10" <= "9"+1.
    let b = buffer(&[10, 11, 12]);
    let r = b.since("9");
    assert!(!r.gap);
    assert_eq!(ids(&r.events), id_list(&[10, 11, 12]));
    let r = b.since("8");
    assert!(r.gap);
    assert_eq!(ids(&r.events), id_list(&[10, 11, 12]));
}

#[test]
fn since_empty_buffer() {
    let b = Buffer::default();
    for last in ["0", "1", "5", "1000"] {
        let r = b.since(last);
        assert_eq!(
            r,
            Replay {
                events: vec![],
                gap: false
            },
            "{last}"
        );
    }
    // Not a number: still a gap, even when empty.
    assert!(b.since("x").gap);
}

#[test]
fn since_non_numeric_id_replays_nothing_with_gap() {
    let b = buffer(&[1, 2, 3]);
    for last in [
        "",
        "x",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.0",
        "1e3",
        "0x1",
        "١",                    // Arabic-Indic digit one
        "18446744073709551616", // u64::MAX + 1
        "99999999999999999999999",
    ] {
        let r = b.since(last);
        assert!(r.events.is_empty(), "{last:?}");
        assert!(r.gap, "{last:?}");
    }
}

#[test]
fn since_u64_max_edge() {
    let max = u64::MAX;
    let mut b = Buffer::default();
    b.push(event(&(max - 1).to_string()), 10);
    b.push(event(&max.to_string()), 10);
    let r = b.since(&(max - 2).to_string());
    assert_eq!(ids(&r.events), id_list(&[max - 1, max]));
    assert!(!r.gap);
    let r = b.since(&(max - 1).to_string());
    assert_eq!(ids(&r.events), id_list(&[max]));
    assert!(!r.gap);
    let r = b.since(&max.to_string());
    assert!(r.events.is_empty() && !r.gap);
}

#[test]
fn since_does_not_change_the_buffer() {
    let b = buffer(&[1, 2, 3]);
    let before = b.clone();
    let _ = b.since("1");
    let _ = b.since("x");
    assert_eq!(b, before);
}

// ---------------------------------------------------------------------------
// RateLimiter

/// How many of `n` calls at `now_ms` are allowed.
fn take(rl: &mut RateLimiter, per_second: u32, now_ms: u64, n: usize) -> usize {
    (0..n).filter(|_| rl.allow(per_second, now_ms)).count()
}

#[test]
fn limiter_starts_full() {
    let rl = RateLimiter::new(5, 1_000);
    assert_eq!(rl.tokens, 5.0);
    assert_eq!(rl.last_ms, 1_000);
}

#[test]
fn limiter_burst_up_to_capacity() {
    let mut rl = RateLimiter::new(5, 1_000);
    assert_eq!(take(&mut rl, 5, 1_000, 10), 5);
    assert!(!rl.allow(5, 1_000));
}

#[test]
fn limiter_refills_continuously() {
    let mut rl = RateLimiter::new(10, 0);
    assert_eq!(take(&mut rl, 10, 0, 10), 10);
    // 10/s: one token every 100 ms.
    assert!(!rl.allow(10, 50));
    assert!(rl.allow(10, 100), "50 + 50 ms made one token");
    assert!(!rl.allow(10, 100));
    assert!(!rl.allow(10, 199));
    assert!(rl.allow(10, 200));
    // Half a second refills five.
    assert_eq!(take(&mut rl, 10, 700, 10), 5);
}

#[test]
fn limiter_refill_caps_at_capacity() {
    let mut rl = RateLimiter::new(3, 0);
    assert_eq!(take(&mut rl, 3, 0, 3), 3);
    // A long idle period still refills only up to the capacity.
    assert_eq!(take(&mut rl, 3, 3_600_000, 10), 3);
    assert!(rl.tokens >= 0.0 && rl.tokens < 1.0);
}

#[test]
fn limiter_fractional_refill_rate() {
    // 3/s: one token per 333.3 ms.
    let mut rl = RateLimiter::new(3, 0);
    assert_eq!(take(&mut rl, 3, 0, 3), 3);
    assert!(!rl.allow(3, 333));
    assert!(rl.allow(3, 334));
    assert!(!rl.allow(3, 334));
    assert!(rl.allow(3, 667));
    assert!(rl.allow(3, 1_000));
    assert!(!rl.allow(3, 1_000));
}

#[test]
fn limiter_many_small_steps_do_not_lose_tokens_to_rounding() {
    // 3/s refilled 1 ms at a time for one second: three tokens, not two.
    let mut rl = RateLimiter::new(3, 0);
    assert_eq!(take(&mut rl, 3, 0, 3), 3);
    let mut allowed = 0;
    for t in 1..=1_000 {
        if rl.allow(3, t) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3);
}

#[test]
fn limiter_sustained_rate() {
    // Calls every 10 ms for 10 s at 20/s: the initial burst plus 20/s.
    let per_second = 20;
    let mut rl = RateLimiter::new(per_second, 0);
    let mut allowed = 0;
    for i in 0..1_000u64 {
        if rl.allow(per_second, i * 10) {
            allowed += 1;
        }
    }
    // 20 at the start + 20/s over 9.99 s ≈ 219.
    assert!((218..=220).contains(&allowed), "{allowed}");
}

#[test]
fn limiter_one_per_second() {
    let mut rl = RateLimiter::new(1, 10_000);
    assert!(rl.allow(1, 10_000));
    assert!(!rl.allow(1, 10_500));
    assert!(!rl.allow(1, 10_999));
    assert!(rl.allow(1, 11_000));
    assert!(!rl.allow(1, 11_000));
}

#[test]
fn limiter_zero_never_allows() {
    let mut rl = RateLimiter::new(0, 0);
    assert_eq!(rl.tokens, 0.0);
    for t in [0, 1, 1_000, 1_000_000, u64::MAX] {
        assert!(!rl.allow(0, t), "{t}");
    }
}

#[test]
fn limiter_time_going_backwards_mints_nothing() {
    let mut rl = RateLimiter::new(2, 10_000);
    assert_eq!(take(&mut rl, 2, 10_000, 2), 2);
    // Clock jumps back: no panic, no tokens.
    assert!(!rl.allow(2, 5_000));
    assert!(!rl.allow(2, 0));
    assert_eq!(rl.last_ms, 10_000, "last_ms never moves back");
    // Back to where it was: still nothing (the time is not counted twice).
    assert!(!rl.allow(2, 10_000));
    assert!(!rl.allow(2, 10_499));
    assert!(rl.allow(2, 10_500));
}

#[test]
fn limiter_extreme_times_do_not_panic() {
    let mut rl = RateLimiter::new(u32::MAX, 0);
    assert!(rl.allow(u32::MAX, u64::MAX));
    assert!(rl.allow(u32::MAX, 0));
    let mut rl = RateLimiter::new(5, u64::MAX);
    assert_eq!(take(&mut rl, 5, u64::MAX, 10), 5);
    assert!(!rl.allow(5, 0));
}

#[test]
fn limiter_rate_lowered_caps_tokens() {
    let mut rl = RateLimiter::new(100, 0);
    // Now allowed only 2/s: the stored 100 tokens are capped at 2.
    assert_eq!(take(&mut rl, 2, 0, 10), 2);
}

#[test]
fn limiter_survives_corrupt_state() {
    for tokens in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -5.0] {
        let mut rl = RateLimiter { tokens, last_ms: 0 };
        // No tokens minted from a bad state; refill still works.
        assert!(!rl.allow(4, 0), "{tokens}");
        assert!(rl.allow(4, 250), "{tokens}");
        assert!(rl.tokens.is_finite());
    }
    let mut rl = RateLimiter {
        tokens: 1e9,
        last_ms: 0,
    };
    assert_eq!(take(&mut rl, 3, 0, 10), 3);
}

#[test]
fn limiter_serde_round_trip() {
    let mut rl = RateLimiter::new(4, 123);
    assert!(rl.allow(4, 123));
    let v = serde_json::to_value(&rl).unwrap();
    assert_eq!(v, json!({"tokens": 3.0, "last_ms": 123}));
    assert_eq!(serde_json::from_value::<RateLimiter>(v).unwrap(), rl);
}

#[test]
fn webhook_outcomes_map_to_gateway_event_types() {
    use syncbridge_core::eventing::*;
    use syncbridge_core::request_log::Outcome;
    assert_eq!(webhook_event_type(Outcome::Answered), WEBHOOK_ANSWERED);
    assert_eq!(webhook_event_type(Outcome::Accepted), WEBHOOK_ANSWERED);
    assert_eq!(webhook_event_type(Outcome::TimedOut), WEBHOOK_TIMED_OUT);
    assert_eq!(webhook_event_type(Outcome::Failed), WEBHOOK_FAILED);
    assert_eq!(webhook_event_type(Outcome::NoProcess), WEBHOOK_FAILED);
}

#[test]
fn finished_deliveries_map_to_gateway_events() {
    use syncbridge_core::outbound::{Delivery, DeliveryState, Rendered, RetryPolicy};
    let mut d = Delivery::new(
        "d1".into(),
        "c1".into(),
        Rendered::json_post("https://x.example/", "{}"),
        RetryPolicy::default(),
        None,
        "t".into(),
        0,
    );
    assert_eq!(delivery_event(&d), None);
    d.state = DeliveryState::Delivered;
    assert_eq!(delivery_event(&d), None);
    d.state = DeliveryState::Dead;
    d.error = Some("gave up after 10 attempts".into());
    assert_eq!(
        delivery_event(&d),
        Some((
            "gateway.delivery.dead",
            json!({"delivery_id": "d1", "attempts": 0, "error": "gave up after 10 attempts"})
        ))
    );
    d.state = DeliveryState::Failed;
    d.error = None;
    assert_eq!(
        delivery_event(&d),
        Some((
            DELIVERY_FAILED,
            json!({"delivery_id": "d1", "attempts": 0, "error": null})
        ))
    );
}

// ---------------------------------------------------------------------------
// The buffer's limits: count and bytes (drop_through, push_within)

fn limits(max_events: usize, max_bytes: usize) -> BufferLimits {
    BufferLimits {
        max_events,
        max_bytes,
    }
}

#[test]
fn drop_through_drops_nothing_within_the_limits() {
    let l = limits(3, 100);
    assert!(l.holds(3, 100));
    assert!(!l.holds(4, 10) && !l.holds(1, 101));
    let items = [(1, 10), (2, 10), (3, 10)];
    assert_eq!(drop_through(3, 30, &l, items), None);
    assert_eq!(drop_through(0, 0, &l, Vec::<(u64, usize)>::new()), None);
}

#[test]
fn drop_through_drops_the_oldest_beyond_the_count() {
    let items = [(1u64, 10), (2, 10), (3, 10), (4, 10), (5, 10)];
    assert_eq!(drop_through(5, 50, &limits(3, 1000), items), Some(2));
    assert_eq!(drop_through(5, 50, &limits(0, 1000), items), Some(5));
}

#[test]
fn drop_through_drops_the_oldest_beyond_the_bytes() {
    // 300 bytes over a limit of 250: the first (100) is not enough, the
    // second brings it to 100.
    let items = [(7u64, 100), (8, 100), (9, 50), (10, 50)];
    assert_eq!(drop_through(4, 300, &limits(10, 250), items), Some(7));
    assert_eq!(drop_through(4, 300, &limits(10, 150), items), Some(8));
    // Both limits: the stricter one decides.
    assert_eq!(drop_through(4, 300, &limits(1, 1000), items), Some(9));
    // A newest event larger than the byte limit leaves nothing.
    assert_eq!(drop_through(4, 300, &limits(10, 40), items), Some(10));
}

#[test]
fn drop_through_reads_only_what_it_drops() {
    let mut read = 0;
    let items = (1u64..=1000).map(|k| {
        read += 1;
        (k, 10)
    });
    assert_eq!(
        drop_through(1000, 10_000, &limits(998, 1 << 20), items),
        Some(2)
    );
    assert_eq!(read, 2);
    // Fewer items than the count says: it stops at their end.
    assert_eq!(
        drop_through(10, 100, &limits(1, 1000), [(1u64, 10)]),
        Some(1)
    );
}

#[test]
fn push_within_bounds_the_buffer_by_count_and_bytes() {
    let size = stored_size(&event("1"));
    assert_eq!(size, serde_json::to_string(&event("1")).unwrap().len());
    let mut b = Buffer::default();
    for i in 1..=10u64 {
        b.push_within(event(&i.to_string()), &limits(100, 3 * size + 2));
    }
    // Ids 1..=9 have the same size; "10" is one byte longer (twice, in id and data).
    assert_eq!(
        ids(&b.events.iter().cloned().collect::<Vec<_>>()),
        id_list(&[8, 9, 10])
    );
    assert!(b.bytes() <= 3 * size + 2);
    let mut b = Buffer::default();
    for i in 1..=10u64 {
        b.push_within(event(&i.to_string()), &limits(2, usize::MAX));
    }
    assert_eq!(b.events.len(), 2);
    let mut b = Buffer::default();
    b.push_within(event("1"), &limits(10, size - 1));
    assert!(
        b.events.is_empty(),
        "an event over the byte limit is not kept"
    );
    let settings = crate::settings();
    assert_eq!(
        BufferLimits::of(&settings),
        limits(settings.event_buffer, settings.event_buffer_bytes)
    );
}

#[test]
fn replay_gap_is_the_rule_of_since() {
    assert!(!replay_gap(5, Some(6), true), "6 is the next one");
    assert!(replay_gap(5, Some(7), true), "6 was dropped");
    assert!(!replay_gap(5, Some(7), false), "nothing to replay: no gap");
    assert!(!replay_gap(5, None, false));
    assert!(!replay_gap(u64::MAX, Some(u64::MAX), true));
    // The buffer agrees with it.
    let b = buffer(&[7, 8]);
    for last in 0..10u64 {
        let r = b.since(&last.to_string());
        assert_eq!(
            r.gap,
            replay_gap(last, Some(7), !r.events.is_empty()),
            "{last}"
        );
    }
}

#[test]
fn last_event_id_must_be_digits() {
    assert_eq!(parse_last_event_id(None).unwrap(), None);
    assert_eq!(parse_last_event_id(Some("")).unwrap(), None);
    assert_eq!(parse_last_event_id(Some("0")).unwrap(), Some(0));
    assert_eq!(parse_last_event_id(Some("0042")).unwrap(), Some(42));
    assert_eq!(
        parse_last_event_id(Some(&u64::MAX.to_string())).unwrap(),
        Some(u64::MAX)
    );
    for bad in [
        "abc",
        "-1",
        "+1",
        "1.5",
        " 1",
        "1 ",
        "1e3",
        "18446744073709551616",
        "٣",
    ] {
        assert_err(parse_last_event_id(Some(bad)), 400, &["last_event_id"]);
    }
    assert_eq!(parse_id("12"), Some(12));
    assert_eq!(parse_id("x"), None);
}

// ---------------------------------------------------------------------------
// One event's size, and gateway events that always fit

#[test]
fn the_buffer_index_numbers_counts_and_drops_as_the_buffer_does() {
    let limits = BufferLimits {
        max_events: 3,
        max_bytes: 100,
    };
    // The model: the same events in a Buffer.
    let mut model = Buffer::default();
    let mut index = BufferIndex::new(0, []);
    assert_eq!(index.next_id(), 1);
    for n in 0..20usize {
        let id = index.next_id();
        let mut e = event(&id.to_string());
        e.data = json!({"s": "x".repeat(n % 7 * 9)});
        let size = stored_size(&e);
        let dropped = index.push(size, &limits);
        model.push_within(e, &limits);
        assert_eq!(index.top(), id);
        assert_eq!(index.len(), model.events.len(), "event {id}");
        assert_eq!(index.bytes(), model.bytes(), "event {id}");
        let oldest = model.events.front().map(|e| e.id.parse::<u64>().unwrap());
        match dropped {
            // Everything up to the dropped id went, nothing after it.
            Some(last) => assert!(oldest.is_none_or(|o| o == last + 1), "event {id}"),
            None => assert!(index.len() == 1 || oldest.is_some()),
        }
    }
}

#[test]
fn an_event_bigger_than_the_byte_limit_empties_the_index_but_not_the_sequence() {
    let limits = BufferLimits {
        max_events: 10,
        max_bytes: 50,
    };
    let mut index = BufferIndex::new(0, [(1, 10), (2, 10)]);
    assert_eq!(index.next_id(), 3);
    assert_eq!(
        index.push(60, &limits),
        Some(3),
        "the newest is dropped too"
    );
    assert!(index.is_empty());
    assert_eq!((index.bytes(), index.next_id()), (0, 4));
}

#[test]
fn a_stored_index_takes_the_larger_of_its_sequence_and_its_rows() {
    let index = BufferIndex::new(7, [(5, 3), (3, 4), (4, 5)]);
    assert_eq!((index.len(), index.bytes(), index.next_id()), (3, 12, 8));
    let index = BufferIndex::new(2, [(5, 3), (3, 4)]);
    assert_eq!(index.next_id(), 6);
    assert_eq!(BufferIndex::new(9, []).next_id(), 10);
    // Rows given in any order are kept oldest first: trimming drops the oldest.
    let mut index = BufferIndex::new(0, [(9, 1), (8, 1), (7, 1)]);
    let one = BufferLimits {
        max_events: 1,
        max_bytes: 100,
    };
    assert_eq!(index.trim(&one), Some(8));
    assert_eq!(index.len(), 1);
}

#[test]
fn the_size_of_serialised_data_is_checked_as_the_data_itself() {
    let data = json!({"s": "x".repeat(91)});
    let len = serde_json::to_string(&data).unwrap().len();
    assert!(check_event_len("t", len, 100).is_ok());
    assert_err(check_event_len("t", len + 1, 100), 413, &["100 bytes"]);
    assert_eq!(
        check_event_len("t", len, 100).is_ok(),
        check_event_size("t", &data, 100).is_ok()
    );
}

#[test]
fn an_event_written_around_its_serialised_data_is_its_json() {
    let cases = [
        (1, "order.paid", json!({})),
        (
            42,
            "a",
            json!({"n": 1, "s": "\"quoted\" \\ \u{1} é ☃", "nested": {"x": [1, null, true]}}),
        ),
        (
            u64::MAX >> 11,
            "gateway.webhook.received",
            json!({"url": "https://x/?a=1&b=2"}),
        ),
    ];
    for (id, kind, data) in cases {
        let ts = "2026-11-23T06:00:00.000Z";
        let text = event_json(id, kind, ts, &serde_json::to_string(&data).unwrap());
        let want = Event {
            id: id.to_string(),
            kind: kind.to_owned(),
            ts: ts.to_owned(),
            data,
        };
        assert_eq!(text, serde_json::to_string(&want).unwrap());
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), want);
    }
}

#[test]
fn a_subscriber_without_patterns_or_with_a_star_wants_everything() {
    assert!(wants_all(&[]));
    assert!(wants_all(&strings(&["order.*", "*"])));
    assert!(!wants_all(&strings(&["order.*"])));
    assert!(!wants_all(&strings(&["order.paid", "user.*"])));
    // Whatever it wants all of, `matches` agrees.
    for kind in ["order.paid", "x", "gateway.delivery.dead"] {
        assert!(matches(&strings(&["a.*", "*"]), kind));
    }
}

#[test]
fn an_event_over_the_size_limit_is_a_413() {
    // "t" + {"s":"…"} (8 bytes of JSON around the string).
    let data = |n: usize| json!({"s": "x".repeat(n)});
    assert!(check_event_size("t", &data(91), 100).is_ok());
    let msg = assert_err(
        check_event_size("t", &data(92), 100),
        413,
        &["100 bytes", "EVENT_MAX_BYTES"],
    );
    assert!(msg.contains("type"), "{msg}");
    // Escapes count as they are sent.
    assert!(check_event_size("t", &json!({"s": "\"".repeat(45)}), 100).is_ok());
    assert!(check_event_size("t", &json!({"s": "\"".repeat(46)}), 100).is_err());
}

#[test]
fn gateway_data_keeps_short_fields() {
    let data =
        json!({"channel_id": "c", "url": "https://x.example/a", "status": 200, "error": null});
    assert_eq!(gateway_data(data.clone()), data);
    let exact = "u".repeat(GATEWAY_FIELD_MAX_BYTES);
    assert_eq!(
        gateway_data(json!({"url": exact})),
        json!({"url": exact}),
        "exactly the limit is kept"
    );
}

#[test]
fn gateway_data_cuts_long_fields_and_says_which() {
    assert_eq!(GATEWAY_FIELD_MAX_BYTES, 1024);
    let url = format!("https://x.example/?q={}", "a".repeat(30_000));
    let out = gateway_data(json!({"url": url, "method": "POST", "error": "e".repeat(5000)}));
    let cut = out["url"].as_str().unwrap();
    assert_eq!(cut.len(), GATEWAY_FIELD_MAX_BYTES);
    assert!(cut.ends_with(TRUNCATION_MARK));
    assert!(url.starts_with(cut.trim_end_matches(TRUNCATION_MARK)));
    assert_eq!(out["method"], "POST");
    assert_eq!(
        out["error"].as_str().unwrap().len(),
        GATEWAY_FIELD_MAX_BYTES
    );
    assert_eq!(
        out["truncated"],
        json!(["url", "error"]),
        "in the order of the fields"
    );
}

#[test]
fn gateway_data_cuts_at_characters_and_counts_escapes() {
    // Multi-byte characters are never split.
    let out = gateway_data(json!({"s": "é".repeat(2000)}));
    let s = out["s"].as_str().unwrap();
    assert!(s.len() <= GATEWAY_FIELD_MAX_BYTES);
    assert!(s
        .trim_end_matches(TRUNCATION_MARK)
        .chars()
        .all(|c| c == 'é'));
    // Quotes and control characters take 2 and 6 bytes in JSON.
    for (raw, each) in [("\"", 2), ("\u{1}", 6), ("\n", 2)] {
        let out = gateway_data(json!({"s": raw.repeat(2000)}));
        let json_len = serde_json::to_string(&out["s"]).unwrap().len() - 2;
        assert!(json_len <= GATEWAY_FIELD_MAX_BYTES, "{raw:?}: {json_len}");
        assert!(json_len > GATEWAY_FIELD_MAX_BYTES - each - TRUNCATION_MARK.len());
    }
    // Nested strings too; only top-level names are listed.
    let out = gateway_data(json!({"n": {"deep": ["x".repeat(2000)]}}));
    assert!(out["n"]["deep"][0].as_str().unwrap().len() <= GATEWAY_FIELD_MAX_BYTES);
    assert_eq!(out["truncated"], json!(["n"]));
}

#[test]
fn a_gateway_event_with_huge_fields_fits_the_smallest_event_limit() {
    let huge = "\u{1}".repeat(100_000);
    let data = json!({
        "channel_id": huge, "request_id": huge, "method": huge, "url": huge, "mode": huge,
        "status": 502, "duration_ms": u64::MAX, "error": huge, "delivery_id": huge,
        "attempts": 100,
    });
    let data = gateway_data(data);
    for kind in [WEBHOOK_FAILED, DELIVERY_DEAD] {
        assert!(
            check_event_size(kind, &data, syncbridge_core::config::MIN_EVENT_MAX_BYTES).is_ok()
        );
    }
}

#[test]
fn a_delivery_carrying_a_gateway_event_reports_nothing() {
    use syncbridge_core::outbound::{Delivery, DeliveryState, Rendered, RetryPolicy};
    let new = || {
        Delivery::new(
            "d1".into(),
            "c1".into(),
            Rendered::json_post("https://x.example/", "{}"),
            RetryPolicy::default(),
            None,
            "t".into(),
            0,
        )
    };
    assert_eq!(new().event_type, None);
    for (kind, reported) in [
        ("order.paid", true),
        (DELIVERY_DEAD, false),
        (DELIVERY_FAILED, false),
        (WEBHOOK_RECEIVED, false),
    ] {
        let mut d = new().carrying(kind);
        assert_eq!(d.event_type.as_deref(), Some(kind));
        assert_eq!(is_gateway_type(kind), !reported);
        for state in [DeliveryState::Dead, DeliveryState::Failed] {
            d.state = state;
            assert_eq!(delivery_event(&d).is_some(), reported, "{kind} {state}");
        }
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["event_type"], kind);
        assert_eq!(serde_json::from_value::<Delivery>(v).unwrap(), d);
    }
    // Older records have no event_type.
    let mut v = serde_json::to_value(new()).unwrap();
    assert!(v.get("event_type").is_none());
    v.as_object_mut().unwrap().remove("event_type");
    assert_eq!(
        serde_json::from_value::<Delivery>(v).unwrap().event_type,
        None
    );
}
