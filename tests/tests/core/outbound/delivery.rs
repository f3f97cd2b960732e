//! The delivery record and `Delivery::record`.

use super::*;

#[test]
fn delivery_records_serialize() {
    let d = Delivery {
        id: "d1".into(),
        channel_id: "c1".into(),
        state: DeliveryState::Pending,
        created_at: "2024-01-01T00:00:00.000Z".into(),
        idempotency_key: None,
        request: Rendered {
            method: HttpMethod::Post,
            url: URL.into(),
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: "<x/>".into(),
        },
        retry: RetryPolicy::default(),
        attempts: vec![Attempt {
            n: 1,
            at: "2024-01-01T00:00:01.000Z".into(),
            status: None,
            latency_ms: 30_000,
            response_excerpt: String::new(),
            error: Some("timeout".into()),
        }],
        attempt_base: 0,
        next_attempt_at_ms: Some(1_704_067_501_000),
        error: None,
        event_type: None,
    };
    let v = serde_json::to_value(&d).unwrap();
    assert!(v.get("idempotency_key").is_none());
    assert!(v.get("error").is_none());
    assert_eq!(
        v["request"]["headers"],
        json!([["Content-Type", "text/xml"]])
    );
    assert_eq!(v["state"], "pending");
    assert_eq!(v["request"]["method"], "POST");
    let back: Delivery = serde_json::from_value(v).unwrap();
    assert_eq!(back, d);
    assert_eq!(
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
            DeliveryState::Dead
        ]
        .map(|s| serde_json::to_value(s).unwrap()),
        ["pending", "delivered", "failed", "dead"]
    );
}

// ---- Delivery::record -----------------------------------------------------

fn pending_delivery() -> syncbridge_core::outbound::Delivery {
    syncbridge_core::outbound::Delivery {
        id: "d1".into(),
        channel_id: "c1".into(),
        state: DeliveryState::Pending,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        idempotency_key: None,
        request: syncbridge_core::outbound::Rendered {
            method: HttpMethod::Post,
            url: "https://x.example/".into(),
            headers: vec![],
            body: String::new(),
        },
        retry: Default::default(),
        attempts: vec![],
        attempt_base: 0,
        next_attempt_at_ms: Some(0),
        error: None,
        event_type: None,
    }
}

fn attempt_with(status: Option<u16>, error: Option<&str>) -> syncbridge_core::outbound::Attempt {
    syncbridge_core::outbound::Attempt {
        n: 0,
        at: "2026-01-01T00:00:01.000Z".into(),
        status,
        latency_ms: 5,
        response_excerpt: String::new(),
        error: error.map(str::to_string),
    }
}

#[test]
fn recording_attempts_moves_the_delivery_through_its_states() {
    use syncbridge_core::outbound::Verdict;
    let mut d = pending_delivery();
    assert_eq!(
        d.record(
            attempt_with(Some(503), None),
            &Verdict::Retry { delay_s: 30 },
            1_000
        ),
        Some(30)
    );
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.next_attempt_at_ms, Some(31_000));
    assert_eq!(d.attempts[0].n, 1);
    assert_eq!(
        d.record(attempt_with(Some(200), None), &Verdict::Delivered, 2_000),
        None
    );
    assert_eq!(
        (d.state.as_str(), d.next_attempt_at_ms, d.attempts[1].n),
        ("delivered", None, 2)
    );

    let mut d = pending_delivery();
    d.record(attempt_with(Some(410), None), &Verdict::Stop, 0);
    assert_eq!(d.state, DeliveryState::Failed);
    assert!(d.error.as_deref().unwrap().contains("410"));
    let mut d = pending_delivery();
    d.record(
        attempt_with(None, Some("not sent: off the list")),
        &Verdict::Stop,
        0,
    );
    assert_eq!(d.error.as_deref(), Some("not sent: off the list"));

    // Dead counts only the attempts since the latest resend.
    let mut d = pending_delivery();
    for _ in 0..3 {
        d.record(
            attempt_with(Some(503), None),
            &Verdict::Retry { delay_s: 1 },
            0,
        );
    }
    d.attempt_base = 3;
    d.record(
        attempt_with(Some(503), None),
        &Verdict::Retry { delay_s: 1 },
        0,
    );
    assert_eq!(d.policy_attempts(), 1);
    d.record(attempt_with(Some(503), None), &Verdict::Dead, 0);
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(d.error.as_deref(), Some("gave up after 2 attempts"));
    assert_eq!(d.attempts.len(), 5);
}

// ---- Delivery::new, resend ------------------------------------------------

#[test]
fn new_deliveries_are_pending_and_due_at_once() {
    let request = Rendered {
        method: HttpMethod::Put,
        url: URL.into(),
        headers: vec![("X-A".into(), "1".into())],
        body: "b".into(),
    };
    let retry = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let d = Delivery::new(
        "d1".into(),
        "c1".into(),
        request.clone(),
        retry.clone(),
        Some("key-1".into()),
        "2026-01-01T00:00:00.000Z".into(),
        1_000,
    );
    // What the send route wrote as a literal.
    assert_eq!(
        d,
        Delivery {
            id: "d1".into(),
            channel_id: "c1".into(),
            state: DeliveryState::Pending,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            idempotency_key: Some("key-1".into()),
            request,
            retry,
            attempts: Vec::new(),
            attempt_base: 0,
            next_attempt_at_ms: Some(1_000),
            error: None,
            event_type: None,
        }
    );
    assert_eq!(d.next_attempt_column(), 1_000);
    assert_eq!(serde_json::to_value(&d).unwrap()["state"], json!("pending"));
}

#[test]
fn a_subscriber_event_is_a_json_post_with_the_channels_retry_policy() {
    let body = r#"{"id":"1","type":"order.paid","ts":"t","data":{}}"#;
    let r = Rendered::json_post("https://sub.example/hook", body);
    // What the hub wrote as a literal.
    assert_eq!(
        r,
        Rendered {
            method: HttpMethod::Post,
            url: "https://sub.example/hook".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    );
    assert_eq!(RetryPolicy::for_channel(None), RetryPolicy::default());
    let mut ch = syncbridge_core::channel::create(
        &json!({"code": "c"}),
        "c1".into(),
        "0".repeat(32),
        "2026-01-01T00:00:00.000Z",
    )
    .unwrap();
    assert_eq!(RetryPolicy::for_channel(Some(&ch)), RetryPolicy::default());
    ch.opts.callback = Some(parse(
        json!({"retry": {"schedule": "exponential", "max_attempts": 4}}),
    ));
    let p = RetryPolicy::for_channel(Some(&ch));
    assert_eq!(
        (p.schedule, p.max_attempts, p.jitter),
        (Schedule::Exponential, 4, 0.2)
    );
    let d = Delivery::new("d2".into(), "c1".into(), r, p, None, "t".into(), 5);
    assert_eq!(
        (d.state, d.next_attempt_at_ms),
        (DeliveryState::Pending, Some(5))
    );
    assert!(d.idempotency_key.is_none() && d.attempts.is_empty());
}

#[test]
fn only_dead_or_failed_deliveries_are_resent() {
    for state in [DeliveryState::Pending, DeliveryState::Delivered] {
        let mut d = pending_delivery();
        d.state = state;
        let before = d.clone();
        let e = d.resend(9).unwrap_err();
        assert_eq!((e.status, e.error_code()), (409, 1409));
        assert_eq!(
            e.error_message,
            format!("Only a dead or failed delivery can be resent; this one is {state}")
        );
        assert_eq!(d, before, "a refused resend changes nothing");
    }
    let mut d = pending_delivery();
    for _ in 0..3 {
        d.record(
            attempt_with(Some(503), None),
            &Verdict::Retry { delay_s: 1 },
            0,
        );
    }
    d.record(attempt_with(Some(503), None), &Verdict::Dead, 0);
    assert_eq!(d.next_attempt_column(), 0);
    d.resend(7_000).unwrap();
    assert_eq!(
        (
            d.state,
            d.error.as_deref(),
            d.attempt_base,
            d.next_attempt_at_ms
        ),
        (DeliveryState::Pending, None, 4, Some(7_000))
    );
    assert_eq!(d.policy_attempts(), 0);
    assert_eq!(d.attempts.len(), 4, "the log keeps every attempt");
    let mut d = pending_delivery();
    d.record(attempt_with(Some(410), None), &Verdict::Stop, 0);
    assert!(d.resend(1).is_ok(), "failed deliveries are resent too");
    assert_eq!(
        DeliveryState::Failed.to_string(),
        "failed",
        "the 409 names the state as JSON does"
    );
}

#[test]
fn created_at_ms_is_the_time_created_at_shows() {
    let mut d = Delivery::new(
        "d".into(),
        "c".into(),
        Rendered {
            method: HttpMethod::Post,
            url: URL.into(),
            headers: vec![],
            body: String::new(),
        },
        RetryPolicy::default(),
        None,
        "2024-01-01T00:00:00.000Z".into(),
        0,
    );
    for (iso, ms) in [
        ("1970-01-01T00:00:00.000Z", Some(0)),
        ("1970-01-01T00:00:00.001Z", Some(1)),
        ("2024-01-01T00:00:00.000Z", Some(1_704_067_200_000)),
        ("2024-02-29T23:59:59.999Z", Some(1_709_251_199_999)),
        ("2026-12-01T19:20:13.573Z", Some(1_796_152_813_573)),
        ("2000-03-01T00:00:00Z", Some(951_868_800_000)),
        ("2100-03-01T00:00:00.000Z", Some(4_107_542_400_000)),
        ("9999-12-31T23:59:59.999Z", Some(253_402_300_799_999)),
        ("2023-02-29T00:00:00.000Z", None),
        ("2024-13-01T00:00:00.000Z", None),
        ("2024-01-01T24:00:00.000Z", None),
        ("2024-01-01T00:00:00.00Z", None),
        ("2024-01-01T00:00:00.000", None),
        ("2024-01-01 00:00:00.000Z", None),
        ("1969-12-31T23:59:59.999Z", None),
        ("+02024-01-01T00:00:00.000Z", None),
        ("", None),
        ("not a date", None),
    ] {
        d.created_at = iso.into();
        assert_eq!(d.created_at_ms(), ms, "{iso}");
    }
}

/// migrations/0003 sets `created_at_ms` of rows written before it from
/// their `created_at`, exactly as `created_at_ms()` reads it.
#[test]
fn the_migration_sets_created_at_ms_from_created_at() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/");
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(&std::fs::read_to_string(format!("{root}0002_deliveries.sql")).unwrap())
        .unwrap();
    let times = [
        "2026-12-01T19:20:13.573Z",
        "2026-12-01T19:20:13.999Z",
        "2024-02-29T23:59:59.001Z",
        "1999-12-31T23:59:59.500Z",
        "2038-01-19T03:14:08.000Z",
    ];
    for (i, t) in times.iter().enumerate() {
        let doc = json!({"created_at": t}).to_string();
        conn.execute(
            "INSERT INTO deliveries (id, channel_id, state, generation, next_attempt_at_ms, created_at_ms, doc) VALUES (?1, 'c', 'pending', 1, 0, 7, ?2)",
            rusqlite::params![format!("d{i}"), doc],
        )
        .unwrap();
    }
    conn.execute_batch(
        &std::fs::read_to_string(format!("{root}0003_deliveries_order.sql")).unwrap(),
    )
    .unwrap();
    for (i, t) in times.iter().enumerate() {
        let got: i64 = conn
            .query_row(
                "SELECT created_at_ms FROM deliveries WHERE id = ?1",
                [format!("d{i}")],
                |r| r.get(0),
            )
            .unwrap();
        let mut d: Delivery = serde_json::from_value(json!({
            "id": "x", "channel_id": "c", "state": "pending", "created_at": t,
            "request": {"method": "POST", "url": URL, "headers": [], "body": ""},
            "retry": RetryPolicy::default(), "attempts": []
        }))
        .unwrap();
        d.created_at = t.to_string();
        assert_eq!(Some(got as u64), d.created_at_ms(), "{t}");
    }
}
