//! Eventing and WebSockets: publishing on an eventing channel, WebSocket
//! and webhook subscribers, the gateway's own events, and inbound
//! WebSockets on a public channel whose process answers through its reply
//! URL; the hub Durable Objects hibernate their sockets.

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use syncbridge_tests::harness::{
    assert_rest_answer, assert_rest_error, client, close_code, engine, event_with, fast, finished,
    next_json, next_text, process_url, receiver, receiver_url, statuses, TestClient, ADMIN, API,
    EVENT_BUFFER, PATIENCE, WEBHOOK_WAIT_S, WS_MAX_CONNECTIONS, WS_MAX_MESSAGE, WS_MAX_RATE,
};
use syncbridge_tests::unique;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn websocket_subscribers_receive_events_in_order_with_their_filter() {
    let client = client();
    let ch = client.eventing_channel(json!({})).await;
    let mut all = client.subscribe(&ch, "").await;
    let mut orders = client.subscribe(&ch, "?events=order.*").await;
    // `*` among its patterns: everything, as no pattern at all.
    let mut star = client.subscribe(&ch, "?events=user.*,*").await;
    let mut answers = Vec::new();
    for (kind, n) in [("order.created", 1), ("user.login", 2), ("order.paid", 3)] {
        let (status, answer) = client.publish(&ch, kind, json!({"n": n})).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["type"], kind);
        answers.push(answer);
    }
    let got: Vec<Value> = vec![
        next_json(&mut all).await,
        next_json(&mut all).await,
        next_json(&mut all).await,
    ];
    // The publish answers the event its subscribers get.
    assert_eq!(got, answers);
    for want in &got {
        assert_eq!(&next_json(&mut star).await, want);
    }
    let kinds: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["order.created", "user.login", "order.paid"]);
    let ids: Vec<u64> = got
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    assert!(got[0]["ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(got[2]["data"], json!({"n": 3}));
    let a = next_json(&mut orders).await;
    let b = next_json(&mut orders).await;
    assert_eq!(
        (a["type"].as_str(), b["type"].as_str()),
        (Some("order.created"), Some("order.paid"))
    );
}

#[tokio::test]
async fn a_subscriber_reconnecting_with_last_event_id_gets_what_it_missed() {
    let client = client();
    let ch = client.eventing_channel(json!({})).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            client.publish(&ch, "tick", json!({"n": n})).await.1["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut ws = client
        .subscribe(&ch, &format!("?last_event_id={}", ids[0]))
        .await;
    let (a, b) = (next_json(&mut ws).await, next_json(&mut ws).await);
    assert_eq!(
        (a["id"].as_str(), b["id"].as_str()),
        (Some(ids[1].as_str()), Some(ids[2].as_str()))
    );
    // Live events follow the replay.
    client.publish(&ch, "tick", json!({"n": 3})).await;
    assert_eq!(next_json(&mut ws).await["data"]["n"], 3);

    // Missed more than the buffer holds: a $gap notice, then what is left.
    for n in 0..(EVENT_BUFFER + 2) {
        client.publish(&ch, "tick", json!({"n": 10 + n})).await;
    }
    let mut late = client
        .subscribe(&ch, &format!("?last_event_id={}", ids[0]))
        .await;
    assert_eq!(next_json(&mut late).await["type"], "$gap");
    let first = next_json(&mut late).await;
    assert_eq!(first["type"], "tick");
}

#[tokio::test]
async fn ping_is_answered_pong() {
    let client = client();
    let ch = client.eventing_channel(json!({})).await;
    let mut ws = client.subscribe(&ch, "").await;
    ws.send(Message::Text("ping".into())).await.unwrap();
    let msg = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(msg, Message::Text("pong".into()));
}

#[tokio::test]
async fn webhook_subscribers_receive_the_same_events_until_they_unsubscribe() {
    let client = client();
    let ch = client.eventing_channel(json!({})).await;
    let token = ch["token_local"].as_str().unwrap();
    let key = unique("sub");
    let sub_url = format!("{}/api/token/v1/{token}/subscribe", client.base);
    let target = format!("{}/status/{key}?code=200", receiver().url());
    let resp = client
        .http()
        .post(&sub_url)
        .json(&json!({"url": target, "events": ["order.*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let sub: Value = resp.json().await.unwrap();
    let list: Value = client
        .http()
        .get(&sub_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let mut ws = client.subscribe(&ch, "?events=order.*").await;
    client.publish(&ch, "order.created", json!({"n": 1})).await;
    client.publish(&ch, "user.login", json!({})).await;
    let by_ws = next_json(&mut ws).await;
    let hits = receiver().wait_hits(&key, 1, PATIENCE).await;
    assert_eq!(hits.len(), 1);
    let by_hook: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(
        by_hook, by_ws,
        "webhook and WebSocket subscribers get the same event"
    );
    // The delivery is in the channel's delivery log.
    let deliveries: Value = client
        .http()
        .get(format!(
            "{}{API}/{}/deliveries",
            client.base,
            ch["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["request"]["url"], target);

    let resp = client
        .http()
        .delete(format!("{sub_url}/{}", sub["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = client
        .http()
        .delete(format!("{sub_url}/{}", sub["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 404, &["No subscription"]).await;
    client.publish(&ch, "order.paid", json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver().hits(&key).len(),
        1,
        "delivered after unsubscribing"
    );
}

#[tokio::test]
async fn subscriptions_and_publishing_refuse_bad_input() {
    let client = client();
    let ch = client.eventing_channel(json!({})).await;
    let token = ch["token_local"].as_str().unwrap();
    let sub_url = format!("{}/api/token/v1/{token}/subscribe", client.base);
    for (body, needle) in [
        (json!({"url": "https://evil.example/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (
            json!({"url": format!("{}/x", receiver().url()), "events": ["a*"]}),
            "a*",
        ),
        (
            json!({"url": format!("{}/x", receiver().url()), "colour": 1}),
            "colour",
        ),
    ] {
        let resp = client
            .http()
            .post(&sub_url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_rest_answer(resp, 400, &[needle]).await;
    }
    let (status, answer) = client.publish(&ch, "gateway.fake", json!({})).await;
    let message = assert_rest_error(status, &answer, 400);
    assert!(
        message.contains("reserved"),
        "gateway.* is reserved: {answer}"
    );
    let (status, answer) = client.publish(&ch, "", json!({})).await;
    assert_rest_error(status, &answer, 400);
    let resp = client
        .http()
        .post(format!(
            "{}{API}/{}/events",
            client.base,
            ch["id"].as_str().unwrap()
        ))
        .json(&json!({"type": "x"}))
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 401, &[]).await;
    let public = client.create_channel(json!({"code": unique("pub")})).await;
    let (status, answer) = client.publish(&public, "x", json!({})).await;
    let message = assert_rest_error(status, &answer, 409);
    assert!(message.contains("eventing channels"), "{answer}");
    // A WebSocket subscription needs an eventing channel and an upgrade.
    let resp = client
        .http()
        .get(format!("{}/ws/token/v1/{token}/subscribe", client.base))
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 426, &["WebSocket"]).await;
}

/// A public channel whose inbound WebSocket messages go to the engine's
/// `wsecho` process.
async fn ws_channel(client: &TestClient) -> Value {
    client
        .create_channel(json!({
            "code": unique("ws"),
            "recv_svcscriptcode_ws": process_url("wsecho"),
        }))
        .await
}

#[tokio::test]
async fn an_inbound_websocket_conversation_with_several_replies() {
    let client = client();
    let ch = ws_channel(&client).await;
    let mut ws = client.inbound(&ch).await;
    for m in ["hello", "again"] {
        ws.send(Message::Text(m.into())).await.unwrap();
        let mut got = vec![next_text(&mut ws).await, next_text(&mut ws).await];
        got.sort();
        assert_eq!(got, [format!("done:{m}"), format!("echo:{m}")]);
    }
    // The process saw the connection id and the channel without its token.
    let events = engine().events_with("\"hello\"");
    let e = &events.last().unwrap().event;
    assert_eq!(e["event"]["type"], "$wsMessage");
    assert!(e["connection_id"].is_string());
    assert!(e["channel"].get("token_local").is_none());
    // A forged connection id is refused.
    let resp = client
        .http()
        .post(format!(
            "{}/api/1/plugins/ws/{}/{}",
            client.base,
            ch["id"].as_str().unwrap(),
            "0".repeat(88)
        ))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 404, &["Unknown connection"]).await;
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let client = client();
    let ch = ws_channel(&client).await;
    let mut ws = client.inbound(&ch).await;
    ws.send(Message::Text("x".repeat(WS_MAX_MESSAGE + 1).into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1009));
}

#[tokio::test]
async fn too_many_messages_per_second_closes_with_1008() {
    let client = client();
    let ch = ws_channel(&client).await;
    let mut ws = client.inbound(&ch).await;
    for i in 0..(WS_MAX_RATE + 5) {
        if ws
            .send(Message::Text(format!("m{i}").into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(close_code(&mut ws).await, Some(1008));
}

#[tokio::test]
async fn too_many_connections_close_with_1013() {
    let client = client();
    let ch = ws_channel(&client).await;
    let mut open = Vec::new();
    for _ in 0..WS_MAX_CONNECTIONS {
        open.push(client.inbound(&ch).await);
    }
    let mut extra = client.inbound(&ch).await;
    assert_eq!(close_code(&mut extra).await, Some(1013));
    // The ones within the limit still work.
    open[0].send(Message::Text("still".into())).await.unwrap();
    assert!(next_text(&mut open[0]).await.ends_with(":still"));
}

#[tokio::test]
async fn the_gateway_publishes_a_public_channels_traffic() {
    let client = client();
    let ev = client.eventing_channel(json!({})).await;
    let public = client
        .create_channel(json!({
            "code": unique("traffic"),
            "recv_svcscriptcode": format!("{}/process/text", engine().url()),
            "opts": {"issync": true, "eventing_channel": ev["id"]},
        }))
        .await;
    let mut ws = client.subscribe(&ev, "?events=gateway.webhook.*").await;
    let resp = client
        .http()
        .post(format!(
            "{}/api/token/v1/{}",
            client.base,
            public["token_local"].as_str().unwrap()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let a = next_json(&mut ws).await;
    let b = next_json(&mut ws).await;
    assert_eq!(a["type"], "gateway.webhook.received", "{a}");
    assert_eq!(b["type"], "gateway.webhook.answered", "{b}");
    assert_eq!(a["data"]["channel_id"], public["id"]);
    assert_eq!(b["data"]["status"], 200);
    assert_eq!(a["data"]["request_id"], b["data"]["request_id"]);
}

/// The channel's `opts.callback.process_key` may publish (and opens nothing
/// else); a wrong key may not.
#[tokio::test]
async fn publishing_with_the_process_key() {
    let client = client();
    let key = "eventing-process-key-0123456789";
    let ch = client
        .eventing_channel(json!({"callback": {"process_key": key}}))
        .await;
    let mut ws = client.subscribe(&ch, "").await;
    let events = format!("{API}/{}/events", ch["id"].as_str().unwrap());
    let publish = |token: &'static str| {
        client
            .post(&events)
            .bearer_auth(token)
            .json(&json!({"type": "order.paid", "data": {"by": "process"}}))
            .send()
    };
    let resp = publish(key).await.unwrap();
    assert_eq!(resp.status(), 202);
    let event: Value = resp.json().await.unwrap();
    assert_eq!(event["type"], "order.paid", "{event}");
    assert_eq!(event["data"], json!({"by": "process"}), "{event}");
    assert_eq!(next_json(&mut ws).await, event);
    assert_rest_answer(publish("not-the-process-key-0123").await.unwrap(), 401, &[]).await;
    let resp = client
        .get(&format!("{API}/{}", ch["id"].as_str().unwrap()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_rest_answer(resp, 401, &[]).await;
}

/// Webhook subscribers get their events through the outbound delivery
/// machinery with the eventing channel's `opts.callback`: its retry policy
/// (interval, attempts, what counts as success) and its signing secret.
#[tokio::test]
async fn subscription_deliveries_use_the_eventing_channels_retry_policy_and_signing_secret() {
    let client = client();
    let raw = b"eventing-signing-key-0123456789";
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    // The defaults would be: every 300 s, 10 attempts, only 200 counts.
    let retry =
        json!({"schedule": "interval", "interval_s": 1, "max_attempts": 2, "success": "2xx"});
    let ch = client
        .eventing_channel(json!({"callback": {"retry": retry, "signing_secret": secret}}))
        .await;
    let sub_url = client.url(&format!(
        "/api/token/v1/{}/subscribe",
        ch["token_local"].as_str().unwrap()
    ));
    let (flaky, refusing, created) = (unique("sub-flaky"), unique("sub-503"), unique("sub-201"));
    for path in [
        format!("/flaky/{flaky}?fail=1"),
        format!("/status/{refusing}?code=503"),
        format!("/status/{created}?code=201"),
    ] {
        let resp = client
            .http()
            .post(&sub_url)
            .json(&json!({"url": receiver_url(&path)}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let (status, event) = client.publish(&ch, "order.paid", json!({"n": 1})).await;
    assert_eq!(status, 202, "{event}");

    // Retried a second later, then taken.
    let hits = receiver().wait_hits(&flaky, 2, PATIENCE).await;
    assert_eq!(hits.len(), 2);
    assert!(hits[1].at - hits[0].at >= Duration::from_millis(900));
    // Dead after the channel's two attempts.
    assert_eq!(receiver().wait_hits(&refusing, 2, PATIENCE).await.len(), 2);
    // 201 counts under "2xx".
    assert_eq!(receiver().wait_hits(&created, 1, PATIENCE).await.len(), 1);

    let deliveries = client.deliveries(&ch).await;
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    let by_url = |key: &str| {
        let found = deliveries
            .iter()
            .find(|delivery| delivery["request"]["url"].as_str().unwrap().contains(key))
            .unwrap_or_else(|| panic!("no delivery to {key}"))
            .clone();
        let id = found["id"].as_str().unwrap().to_string();
        let (client, ch) = (client.clone(), ch.clone());
        async move { client.delivery(&ch, &id, finished).await }
    };
    let delivery = by_url(&flaky).await;
    assert_eq!(
        (delivery["state"].as_str(), statuses(&delivery)),
        (Some("delivered"), vec![json!(503), json!(200)]),
        "{delivery}"
    );
    let delivery = by_url(&refusing).await;
    assert_eq!(
        (delivery["state"].as_str(), statuses(&delivery)),
        (Some("dead"), vec![json!(503), json!(503)]),
        "{delivery}"
    );
    let delivery = by_url(&created).await;
    assert_eq!(
        (delivery["state"].as_str(), statuses(&delivery)),
        (Some("delivered"), vec![json!(201)]),
        "{delivery}"
    );

    // Every attempt is signed with the channel's secret, under the delivery's id.
    for key in [&flaky, &refusing, &created] {
        let delivery_id = by_url(key).await["id"].as_str().unwrap().to_string();
        for hit in receiver().hits(key) {
            assert_eq!(hit.headers["webhook-id"], delivery_id);
            let ts = &hit.headers["webhook-timestamp"];
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(raw).unwrap();
            mac.update(format!("{delivery_id}.{ts}.").as_bytes());
            mac.update(&hit.body);
            let want = format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            );
            assert_eq!(hit.headers["webhook-signature"], want, "{key}");
            assert_eq!(serde_json::from_slice::<Value>(&hit.body).unwrap(), event);
        }
    }
    assert!(!serde_json::to_string(deliveries).unwrap().contains(&secret));
}

/// A sync webhook whose wait runs out publishes `gateway.webhook.timed_out`;
/// one whose process fails publishes `gateway.webhook.failed` with the error.
#[tokio::test]
async fn the_gateway_publishes_timed_out_and_failed_webhooks() {
    let client = client();
    let ev = client.eventing_channel(json!({})).await;
    let silent = client
        .sync_channel("silent", json!({"eventing_channel": ev["id"]}))
        .await;
    let broken = client
        .sync_channel("broken", json!({"eventing_channel": ev["id"]}))
        .await;
    let mut ws = client
        .subscribe(
            &ev,
            "?events=gateway.webhook.timed_out,gateway.webhook.failed",
        )
        .await;

    let resp = client
        .http()
        .post(client.hook(&silent))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 504);
    let e = next_json(&mut ws).await;
    assert_eq!(e["type"], "gateway.webhook.timed_out", "{e}");
    assert_eq!(e["data"]["channel_id"], silent["id"], "{e}");
    assert_eq!(e["data"]["status"], 504, "{e}");
    assert_eq!(e["data"]["mode"], "sync", "{e}");
    assert!(e["data"]["request_id"].is_string(), "{e}");
    assert!(
        e["data"]["duration_ms"].as_u64().unwrap() >= WEBHOOK_WAIT_S * 1000 - 50,
        "{e}"
    );
    assert!(
        e["data"]["error"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{e}"
    );

    let resp = client
        .http()
        .post(client.hook(&broken))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let e = next_json(&mut ws).await;
    assert_eq!(e["type"], "gateway.webhook.failed", "{e}");
    assert_eq!(e["data"]["channel_id"], broken["id"], "{e}");
    assert_eq!(e["data"]["status"], 502, "{e}");
    assert!(e["data"]["error"].as_str().unwrap().contains("500"), "{e}");
}

/// An outbound delivery that stops (410 Gone) publishes
/// `gateway.delivery.failed`; one that uses up its attempts publishes
/// `gateway.delivery.dead`, each with the delivery's id, attempts and error.
#[tokio::test]
async fn the_gateway_publishes_failed_and_dead_deliveries() {
    let client = client();
    let ev = client.eventing_channel(json!({})).await;
    let outbound = |path: String, attempts: u32| {
        let client = client.clone();
        let ev_id = ev["id"].clone();
        async move {
            client
                .create_channel(json!({
                    "code": unique("out-ev"), "url": receiver_url(&path),
                    "opts": {"callback": {"body": "x", "retry": fast(attempts)}, "eventing_channel": ev_id},
                }))
                .await
        }
    };
    let gone = outbound(format!("/status/{}?code=410", unique("gone")), 3).await;
    let refusing = outbound(format!("/status/{}?code=503", unique("dead")), 2).await;
    let mut ws = client.subscribe(&ev, "?events=gateway.delivery.*").await;

    let id = client.send_ok(&gone, json!({})).await;
    let e = next_json(&mut ws).await;
    assert_eq!(e["type"], "gateway.delivery.failed", "{e}");
    assert_eq!(e["data"]["channel_id"], gone["id"], "{e}");
    assert_eq!(e["data"]["delivery_id"], id.as_str(), "{e}");
    assert_eq!(e["data"]["attempts"], 1, "{e}");
    assert!(e["data"]["error"].as_str().unwrap().contains("410"), "{e}");

    let id = client.send_ok(&refusing, json!({})).await;
    let e = next_json(&mut ws).await;
    assert_eq!(e["type"], "gateway.delivery.dead", "{e}");
    assert_eq!(e["data"]["channel_id"], refusing["id"], "{e}");
    assert_eq!(e["data"]["delivery_id"], id.as_str(), "{e}");
    assert_eq!(e["data"]["attempts"], 2, "{e}");
    let delivery = client.delivery(&refusing, &id, finished).await;
    assert_eq!(e["data"]["error"], delivery["error"], "{e}");
}

/// A process that answers on a connection that has closed gets 410.
#[tokio::test]
async fn a_reply_to_a_closed_connection_is_410() {
    let client = client();
    let ch = ws_channel(&client).await;
    let mut ws = client.inbound(&ch).await;
    let marker = unique("closing");
    ws.send(Message::Text(marker.clone().into())).await.unwrap();
    next_text(&mut ws).await;
    next_text(&mut ws).await;
    let event = event_with(&marker).await.event;
    let reply_url = event["__callback_url"].as_str().unwrap().to_string();
    // While the connection is open, a reply is taken.
    let resp = client
        .http()
        .post(&reply_url)
        .body("still here")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(next_text(&mut ws).await, "still here");
    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, ws.next()).await {}
    let start = Instant::now();
    let resp = loop {
        let resp = client
            .http()
            .post(&reply_url)
            .body("too late")
            .send()
            .await
            .unwrap();
        if resp.status() != 200 || start.elapsed() > PATIENCE {
            break resp;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_rest_answer(resp, 410, &["closed"]).await;
}

/// A binary message reaches the process base64-encoded, flagged
/// `"message_encoding": "base64"`; a text message carries no flag.
#[tokio::test]
async fn binary_messages_reach_the_process_as_base64() {
    let client = client();
    let ch = ws_channel(&client).await;
    let mut ws = client.inbound(&ch).await;
    let mut bytes = vec![0u8, 159, 146, 150, 255];
    bytes.extend_from_slice(unique("bin").as_bytes());
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    ws.send(Message::Binary(bytes.into())).await.unwrap();
    let mut got = vec![next_text(&mut ws).await, next_text(&mut ws).await];
    got.sort();
    assert_eq!(got, [format!("done:{encoded}"), format!("echo:{encoded}")]);
    let e = event_with(&encoded).await.event;
    assert_eq!(e["event"]["type"], "$wsMessage", "{e}");
    assert_eq!(e["message"], encoded.as_str(), "{e}");
    assert_eq!(e["message_encoding"], "base64", "{e}");

    let marker = unique("text");
    ws.send(Message::Text(marker.clone().into())).await.unwrap();
    next_text(&mut ws).await;
    let e = event_with(&marker).await.event;
    assert_eq!(e["message"], marker.as_str(), "{e}");
    assert!(e.get("message_encoding").is_none(), "{e}");
}
