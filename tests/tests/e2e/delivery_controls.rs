//! Delivery controls of outbound callbacks, end to end under workerd with a
//! loopback receiver: Corteos dictionaries (`@DIC:Name`), bulk recovery,
//! the first attempt made at once, the circuit breaker, FIFO order and the
//! throttle.

use reqwest::Method;
use serde_json::{json, Value};
use syncbridge_tests::harness::{
    assert_rest_error, client, fast, finished, id_of, receiver, receiver_url, statuses, API,
    PATIENCE,
};
use syncbridge_tests::unique;

#[tokio::test]
async fn dictionaries_render_the_code_the_send_names_and_refuse_what_they_cannot() {
    let client = client();
    let key = unique("dic");
    let callback = json!({
        "headers": "Content-Type: application/json",
        "body": "{\"status\": \"@DIC:Status\", \"raw\": @!DIC:Amount}",
        "dictionaries": {"Status": {"1": "Reserved \"now\"", "2": "Paid"}, "Amount": {"a": "42"}},
        "retry": fast(1)
    });
    let ch = client
        .callback_channel(&format!("/status/{key}?code=200"), callback.clone())
        .await;
    client
        .send_ok(&ch, json!({"Status": "1", "Amount": "a"}))
        .await;
    let hit = &receiver().wait_hits(&key, 1, PATIENCE).await[0];
    let got: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(got, json!({"status": "Reserved \"now\"", "raw": 42}));

    // A code the dictionary lacks, or no code at all: 422, nothing stored.
    for (vars, needle) in [
        (json!({"Status": "9", "Amount": "a"}), "\"9\" in Status"),
        (json!({"Amount": "a"}), "missing variables: Status"),
    ] {
        let (status, answer) = client.send(&ch, vars, None).await;
        let message = assert_rest_error(status, &answer, 422);
        assert!(message.contains(needle), "{answer}");
    }
    assert_eq!(client.deliveries(&ch).await.as_array().unwrap().len(), 1);

    // A dictionary the channel does not define: 400 when it is saved.
    let mut bad = callback;
    bad["body"] = json!("@DIC:Nope");
    let (status, answer) = client
        .admin(
            Method::POST,
            API,
            Some(json!({
                "code": unique("out"),
                "url": receiver_url("/status/x?code=200"),
                "opts": {"callback": bad}
            })),
        )
        .await;
    let message = assert_rest_error(status, &answer, 400);
    assert!(message.contains("@DIC:Nope"), "{answer}");
}

#[tokio::test]
async fn recover_resends_every_failed_or_dead_delivery_since_a_time_once() {
    let client = client();
    let key = unique("recover");
    // The first two attempts fail; one attempt each: both die.
    let ch = client
        .callback_channel(
            &format!("/flaky/{key}?fail=2"),
            json!({"body": "x", "retry": fast(1)}),
        )
        .await;
    let ids = [
        client.send_ok(&ch, json!({})).await,
        client.send_ok(&ch, json!({})).await,
    ];
    let mut created = Vec::new();
    for id in &ids {
        let d = client.delivery(&ch, id, finished).await;
        assert_eq!(d["state"], "dead", "{d}");
        created.push(d["created_at"].as_str().unwrap().to_owned());
    }
    // Since the first one was created, as the gateway wrote it.
    created.sort();
    let since = created[0].clone();
    let path = format!("{API}/{}/deliveries/recover", id_of(&ch));
    let recover = |body: Value| {
        let path = path.clone();
        let client = &client;
        async move { client.admin(Method::POST, &path, Some(body)).await }
    };
    // Only failed ones asked for, or a later time: nothing to do.
    let (status, answer) = recover(json!({"since": since, "states": ["failed"]})).await;
    assert_eq!(
        (status.as_u16(), &answer),
        (202, &json!({"recovered": 0, "more": false}))
    );
    let (status, answer) = recover(json!({"since": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(
        (status.as_u16(), &answer),
        (202, &json!({"recovered": 0, "more": false}))
    );

    let (status, answer) = recover(json!({"since": since, "states": ["dead", "failed"]})).await;
    assert_eq!(
        (status.as_u16(), &answer),
        (202, &json!({"recovered": 2, "more": false}))
    );
    // Repeated at once: they are pending (or delivered) now, none taken twice.
    let (status, answer) = recover(json!({"since": since})).await;
    assert_eq!(
        (status.as_u16(), &answer),
        (202, &json!({"recovered": 0, "more": false}))
    );
    for id in &ids {
        let d = client.delivery(&ch, id, finished).await;
        assert_eq!(d["state"], "delivered", "{d}");
        // Its history is kept: the dead attempt, then the delivered one.
        assert_eq!(statuses(&d), [json!(503), json!(200)], "{d}");
    }
    assert_eq!(receiver().hits(&key).len(), 4);

    // A bad body is a 400 naming the field.
    let (status, answer) = recover(json!({"since": "soon"})).await;
    let message = assert_rest_error(status, &answer, 400);
    assert!(message.contains("`since`"), "{answer}");
}

#[tokio::test]
async fn the_first_attempt_is_made_by_the_send_and_its_retries_by_the_queue_once_each() {
    let client = client();
    // Each key's receiver fails its first request: the send's own attempt
    // fails, the queue's retry (generation 2) delivers, and the safety-net
    // message (generation 1) does nothing.
    let sends = (0..20).map(|i| {
        let client = &client;
        async move {
            let key = unique(&format!("first{i}"));
            let ch = client
                .callback_channel(
                    &format!("/flaky/{key}?fail=1"),
                    json!({"body": "x", "retry": fast(3)}),
                )
                .await;
            let id = client.send_ok(&ch, json!({})).await;
            (key, ch, id)
        }
    });
    let sent = futures::future::join_all(sends).await;
    for (key, ch, id) in &sent {
        let d = client.delivery(ch, id, finished).await;
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(statuses(&d), [json!(503), json!(200)], "{d}");
        assert_eq!(receiver().hits(key).len(), 2, "{d}");
    }
}
