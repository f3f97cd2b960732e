//! End-to-end tests of eventing and WebSockets: the real worker with its
//! channel hub Durable Objects (hibernating WebSockets), real WebSocket
//! clients, a webhook subscriber on loopback, and a simulated process that
//! answers inbound WebSocket messages through its reply URL.

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;
use syncbridge_tests::engine::Engine;
use syncbridge_tests::receiver::Receiver;
use syncbridge_tests::unique;
use syncbridge_tests::worker::Worker;
use tokio_tungstenite::tungstenite::Message;

const ADMIN: &str = "eventing-admin-token-0123456789";
const API: &str = "/rest/v1/service/integration_points";
const MAX_MESSAGE: usize = 1024;
const MAX_RATE: u32 = 5;
const MAX_CONNECTIONS: usize = 3;
const BUFFER: usize = 5;

struct Env {
    worker: Worker,
    engine: Engine,
    receiver: Receiver,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let engine = Engine::start_background(HashMap::new());
        let receiver = Receiver::start_background();
        let worker = Worker::start(&json!({
            "CALLBACK_SECRET": "eventing-tests-callback-secret-0123",
            "ADMIN_TOKEN": ADMIN,
            "CALLBACK_ALLOWED_HOSTS": "http://127.0.0.1",
            "WS_MAX_MESSAGE_BYTES": MAX_MESSAGE.to_string(),
            "WS_MAX_MESSAGES_PER_S": MAX_RATE.to_string(),
            "WS_MAX_CONNECTIONS": MAX_CONNECTIONS.to_string(),
            "EVENT_BUFFER": BUFFER.to_string(),
        }));
        Env {
            worker,
            engine,
            receiver,
        }
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn create(body: Value) -> Value {
    let resp = http()
        .post(format!("{}{API}", env().worker.base))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn eventing_channel() -> Value {
    create(json!({"code": unique("ev"), "type": "eventing"})).await
}

async fn publish(ch: &Value, kind: &str, data: Value) -> (StatusCode, Value) {
    let resp = http()
        .post(format!(
            "{}{API}/{}/events",
            env().worker.base,
            ch["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"type": kind, "data": data}))
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(path: &str) -> Ws {
    let url = format!("{}{path}", env().worker.base.replace("http://", "ws://"));
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket upgrade");
    ws
}

async fn subscribe(ch: &Value, query: &str) -> Ws {
    connect(&format!(
        "/ws/token/v1/{}/subscribe{query}",
        ch["token_local"].as_str().unwrap()
    ))
    .await
}

/// The next text message (JSON), within 5 s.
async fn next_json(ws: &mut Ws) -> Value {
    serde_json::from_str(&next_text(ws).await).expect("a JSON message")
}

/// How the server closed the socket (code), within 5 s.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn websocket_subscribers_receive_events_in_order_with_their_filter() {
    let ch = eventing_channel().await;
    let mut all = subscribe(&ch, "").await;
    let mut orders = subscribe(&ch, "?events=order.*").await;
    for (kind, n) in [("order.created", 1), ("user.login", 2), ("order.paid", 3)] {
        let (s, v) = publish(&ch, kind, json!({"n": n})).await;
        assert_eq!(s, 202, "{v}");
        assert_eq!(v["type"], kind);
    }
    let got: Vec<Value> = vec![
        next_json(&mut all).await,
        next_json(&mut all).await,
        next_json(&mut all).await,
    ];
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
    let ch = eventing_channel().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            publish(&ch, "tick", json!({"n": n})).await.1["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut ws = subscribe(&ch, &format!("?last_event_id={}", ids[0])).await;
    let (a, b) = (next_json(&mut ws).await, next_json(&mut ws).await);
    assert_eq!(
        (a["id"].as_str(), b["id"].as_str()),
        (Some(ids[1].as_str()), Some(ids[2].as_str()))
    );
    // Live events follow the replay.
    publish(&ch, "tick", json!({"n": 3})).await;
    assert_eq!(next_json(&mut ws).await["data"]["n"], 3);

    // Missed more than the buffer holds: a $gap notice, then what is left.
    for n in 0..(BUFFER + 2) {
        publish(&ch, "tick", json!({"n": 10 + n})).await;
    }
    let mut late = subscribe(&ch, &format!("?last_event_id={}", ids[0])).await;
    assert_eq!(next_json(&mut late).await["type"], "$gap");
    let first = next_json(&mut late).await;
    assert_eq!(first["type"], "tick");
}

#[tokio::test]
async fn ping_is_answered_pong() {
    let ch = eventing_channel().await;
    let mut ws = subscribe(&ch, "").await;
    ws.send(Message::Text("ping".into())).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(msg, Message::Text("pong".into()));
}

#[tokio::test]
async fn webhook_subscribers_receive_the_same_events_until_they_unsubscribe() {
    let ch = eventing_channel().await;
    let token = ch["token_local"].as_str().unwrap();
    let key = unique("sub");
    let sub_url = format!("{}/api/token/v1/{token}/subscribe", env().worker.base);
    let target = format!("{}/status/{key}?code=200", env().receiver.url());
    let resp = http()
        .post(&sub_url)
        .json(&json!({"url": target, "events": ["order.*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let sub: Value = resp.json().await.unwrap();
    let list: Value = http()
        .get(&sub_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let mut ws = subscribe(&ch, "?events=order.*").await;
    publish(&ch, "order.created", json!({"n": 1})).await;
    publish(&ch, "user.login", json!({})).await;
    let by_ws = next_json(&mut ws).await;
    let hits = env()
        .receiver
        .wait_hits(&key, 1, Duration::from_secs(10))
        .await;
    assert_eq!(hits.len(), 1);
    let by_hook: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(
        by_hook, by_ws,
        "webhook and WebSocket subscribers get the same event"
    );
    // The delivery is in the channel's delivery log.
    let deliveries: Value = http()
        .get(format!(
            "{}{API}/{}/deliveries",
            env().worker.base,
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

    let r = http()
        .delete(format!("{sub_url}/{}", sub["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http()
        .delete(format!("{sub_url}/{}", sub["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    publish(&ch, "order.paid", json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        env().receiver.hits(&key).len(),
        1,
        "delivered after unsubscribing"
    );
}

#[tokio::test]
async fn subscriptions_and_publishing_refuse_bad_input() {
    let ch = eventing_channel().await;
    let token = ch["token_local"].as_str().unwrap();
    let sub_url = format!("{}/api/token/v1/{token}/subscribe", env().worker.base);
    for body in [
        json!({"url": "https://evil.example/x"}),
        json!({"url": "not a url"}),
        json!({"url": format!("{}/x", env().receiver.url()), "events": ["a*"]}),
        json!({"url": format!("{}/x", env().receiver.url()), "colour": 1}),
    ] {
        let r = http().post(&sub_url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    let (s, _) = publish(&ch, "gateway.fake", json!({})).await;
    assert_eq!(s, 400, "gateway.* is reserved");
    let (s, _) = publish(&ch, "", json!({})).await;
    assert_eq!(s, 400);
    let r = http()
        .post(format!(
            "{}{API}/{}/events",
            env().worker.base,
            ch["id"].as_str().unwrap()
        ))
        .json(&json!({"type": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let public = create(json!({"code": unique("pub")})).await;
    let (s, _) = publish(&public, "x", json!({})).await;
    assert_eq!(s, 409);
    // A WebSocket subscription needs an eventing channel and an upgrade.
    let r = http()
        .get(format!(
            "{}/ws/token/v1/{token}/subscribe",
            env().worker.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 426);
}

async fn ws_channel() -> Value {
    create(json!({
        "code": unique("ws"),
        "recv_svcscriptcode_ws": format!("{}/process/wsecho", env().engine.url()),
    }))
    .await
}

async fn inbound(ch: &Value) -> Ws {
    connect(&format!(
        "/ws/token/v1/{}",
        ch["token_local"].as_str().unwrap()
    ))
    .await
}

/// The next text message, within 5 s.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket is open")
            .expect("a message");
        if let Message::Text(t) = msg {
            return t.to_string();
        }
    }
}

#[tokio::test]
async fn an_inbound_websocket_conversation_with_several_replies() {
    let ch = ws_channel().await;
    let mut ws = inbound(&ch).await;
    for m in ["hello", "again"] {
        ws.send(Message::Text(m.into())).await.unwrap();
        let mut got = vec![next_text(&mut ws).await, next_text(&mut ws).await];
        got.sort();
        assert_eq!(got, [format!("done:{m}"), format!("echo:{m}")]);
    }
    // The process saw the connection id and the channel without its token.
    let events = env().engine.events_with("\"hello\"");
    let e = &events.last().unwrap().event;
    assert_eq!(e["event"]["type"], "$wsMessage");
    assert!(e["connection_id"].is_string());
    assert!(e["channel"].get("token_local").is_none());
    // A forged connection id is refused.
    let r = http()
        .post(format!(
            "{}/api/1/plugins/ws/{}/{}",
            env().worker.base,
            ch["id"].as_str().unwrap(),
            "0".repeat(88)
        ))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let ch = ws_channel().await;
    let mut ws = inbound(&ch).await;
    ws.send(Message::Text("x".repeat(MAX_MESSAGE + 1).into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1009));
}

#[tokio::test]
async fn too_many_messages_per_second_closes_with_1008() {
    let ch = ws_channel().await;
    let mut ws = inbound(&ch).await;
    for i in 0..(MAX_RATE + 5) {
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
    let ch = ws_channel().await;
    let mut open = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        open.push(inbound(&ch).await);
    }
    let mut extra = inbound(&ch).await;
    assert_eq!(close_code(&mut extra).await, Some(1013));
    // The ones within the limit still work.
    open[0].send(Message::Text("still".into())).await.unwrap();
    assert!(next_text(&mut open[0]).await.ends_with(":still"));
}

#[tokio::test]
async fn the_gateway_publishes_a_public_channels_traffic() {
    let ev = eventing_channel().await;
    let public = create(json!({
        "code": unique("traffic"),
        "recv_svcscriptcode": format!("{}/process/text", env().engine.url()),
        "opts": {"issync": true, "eventing_channel": ev["id"]},
    }))
    .await;
    let mut ws = subscribe(&ev, "?events=gateway.webhook.*").await;
    let r = http()
        .post(format!(
            "{}/api/token/v1/{}",
            env().worker.base,
            public["token_local"].as_str().unwrap()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = next_json(&mut ws).await;
    let b = next_json(&mut ws).await;
    assert_eq!(a["type"], "gateway.webhook.received", "{a}");
    assert_eq!(b["type"], "gateway.webhook.answered", "{b}");
    assert_eq!(a["data"]["channel_id"], public["id"]);
    assert_eq!(b["data"]["status"], 200);
    assert_eq!(a["data"]["request_id"], b["data"]["request_id"]);
}
