//! Eventing under pressure (issue 9): nothing a caller sends, and no
//! careless configuration, can break a channel's eventing, loop the
//! gateway's own events, or grow a hub without bound.
//!
//! - the hub's storage: events are rows, bounded by count and bytes, one
//!   event's size is bounded (413), gateway events cut their long fields,
//!   and a hub written by an older version keeps its events and
//!   subscriptions;
//! - gateway events cannot feed themselves: no channel names itself or a
//!   cycle in `opts.eventing_channel`, and a delivery carrying a gateway
//!   event reports nothing when it dies;
//! - caps on WebSocket subscribers and webhook subscriptions;
//! - `last_event_id` must be a number, and a connection refused over a cap
//!   closes at once.
//!
//! Most tests run on a worker of this module's own ([`limits_worker`]),
//! with the default `EVENT_BUFFER` (the shared worker keeps 5 events, too
//! few for a buffer to grow) and small caps.

use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use syncbridge_tests::harness::{
    assert_rest_answer, assert_rest_error, fast, finished, heavy, id_of, next_json, process_url,
    query_sqlite_files, quiet, receiver_url, shared_settings, start_worker_opts, state_dir,
    stop_worker, token_of, TestClient, Ws, API, PATIENCE, WS_MAX_CONNECTIONS,
};
use syncbridge_tests::unique;
use syncbridge_tests::worker::Worker;
use tokio_tungstenite::tungstenite::Message;

/// `MAX_BODY_BYTES` of [`limits_worker`]: room for a body over `EVENT_MAX_BYTES`.
const MAX_BODY: usize = 1_200_000;
/// The default `EVENT_MAX_BYTES` (README).
const EVENT_MAX_BYTES: usize = 256 * 1024;
/// `EVENT_BUFFER_BYTES` of [`limits_worker`].
const EVENT_BUFFER_BYTES: usize = 1 << 20;
/// `WS_MAX_SUBSCRIBERS` of [`limits_worker`].
const WS_MAX_SUBSCRIBERS: usize = 3;
/// `MAX_SUBSCRIPTIONS` of [`limits_worker`].
const MAX_SUBSCRIPTIONS: usize = 3;
/// The longest string field of a gateway event, as JSON (README).
const GATEWAY_FIELD_MAX_BYTES: usize = 1024;

/// The settings of this module's workers: the shared ones with the default
/// `EVENT_BUFFER` (1000) and the limits under test.
fn limits_settings() -> Value {
    let mut vars = shared_settings();
    let vars_map = vars.as_object_mut().unwrap();
    vars_map.remove("EVENT_BUFFER");
    vars_map.insert("MAX_BODY_BYTES".into(), json!(MAX_BODY.to_string()));
    vars_map.insert(
        "EVENT_BUFFER_BYTES".into(),
        json!(EVENT_BUFFER_BYTES.to_string()),
    );
    vars_map.insert(
        "WS_MAX_SUBSCRIBERS".into(),
        json!(WS_MAX_SUBSCRIBERS.to_string()),
    );
    vars_map.insert(
        "MAX_SUBSCRIPTIONS".into(),
        json!(MAX_SUBSCRIPTIONS.to_string()),
    );
    vars
}

/// The worker most tests here share, started on first use.
fn limits_worker() -> &'static Worker {
    static WORKER: OnceLock<Worker> = OnceLock::new();
    WORKER.get_or_init(|| Worker::start(&limits_settings()))
}

fn client() -> TestClient {
    TestClient::of(limits_worker())
}

/// A public async channel without a process whose traffic goes to `ev`.
async fn traffic_channel(client: &TestClient, ev: &Value) -> Value {
    client
        .create_channel(json!({
            "code": unique("traffic"),
            "opts": {"eventing_channel": ev["id"]},
        }))
        .await
}

/// The channel's webhook subscription URL.
fn subscribe_url(client: &TestClient, ch: &Value) -> String {
    client.url(&format!("/api/token/v1/{}/subscribe", token_of(ch)))
}

/// Subscribes `target` to the channel's events; the answer.
async fn subscribe_webhook(client: &TestClient, ch: &Value, target: &str) -> reqwest::Response {
    client
        .http()
        .post(subscribe_url(client, ch))
        .json(&json!({"url": target}))
        .send()
        .await
        .unwrap()
}

/// Nothing arrives on `ws` for `wait` (pings and pongs aside).
async fn silent_for(ws: &mut Ws, wait: Duration) -> Option<String> {
    let until = Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => return Some(format!("{other:?}")),
        }
    }
}

/// How a socket refused over a cap ended: its close code, when its close
/// frame came and when its TCP connection ended (both from `start`).
async fn refused(ws: &mut Ws, start: Instant) -> (Option<u16>, Duration, Duration) {
    let mut code = None;
    let mut closed_at = None;
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                code = frame.map(|f| u16::from(f.code));
                closed_at = Some(start.elapsed());
            }
            Ok(Some(Ok(_))) => continue,
            // The end of the stream, or an error once the connection is gone.
            Ok(None) | Ok(Some(Err(_))) => break,
            Err(_) => panic!("the refused connection is still open after {PATIENCE:?}"),
        }
    }
    let ended = start.elapsed();
    (code, closed_at.unwrap_or(ended), ended)
}

// ---- finding 1: the hub's storage --------------------------------------------

/// About 70 unauthenticated webhooks with long URLs used to push the hub's
/// single buffer value past the storage limit, and the channel's eventing
/// was broken from then on. Now each event is a row, and the URL in
/// `gateway.webhook.received` is cut: every event arrives, and the admin
/// still publishes.
#[tokio::test]
async fn long_webhook_urls_cannot_break_a_channels_eventing() {
    let _machine = heavy().await;
    let client = client();
    let ev = client.eventing_channel(json!({})).await;
    let public = traffic_channel(&client, &ev).await;
    let mut received = client
        .subscribe(&ev, "?events=gateway.webhook.received")
        .await;
    let mut mine = client.subscribe(&ev, "?events=mine").await;
    let n = 90;
    let long = "q".repeat(30_000);
    for i in 0..n {
        let r = client
            .http()
            .post(format!("{}/orders?i={i}&pad={long}", client.hook(&public)))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "webhook {i}");
    }
    // Every event arrives, and the admin still publishes (both used to fail
    // once the buffer outgrew its storage value).
    let mut events = Vec::new();
    for _ in 0..n {
        events.push(next_json(&mut received).await);
    }
    let (s, published) = client.publish(&ev, "mine", json!({"after": n})).await;
    assert_eq!(s, 202, "{published}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["type"], "gateway.webhook.received", "{e}");
        let url = e["data"]["url"].as_str().unwrap();
        assert!(
            url.len() <= GATEWAY_FIELD_MAX_BYTES,
            "event {i}: url of {} bytes",
            url.len()
        );
        assert!(url.ends_with('…'), "event {i}: {url}");
        assert!(url.contains("/orders?i="), "event {i}: {url}");
        assert_eq!(e["data"]["truncated"], json!(["url"]), "{e}");
        assert_eq!(e["data"]["channel_id"], public["id"], "{e}");
    }
    assert_eq!(next_json(&mut mine).await, published);
}

/// An event over `EVENT_MAX_BYTES` is refused with a 413; events within it
/// are taken however many come (three of ~700 KB used to break the
/// channel), the buffer dropping its oldest beyond `EVENT_BUFFER_BYTES`:
/// a subscriber reconnecting from the first gets a `$gap`, then what is left.
#[tokio::test]
async fn big_events_are_refused_and_a_full_buffer_drops_its_oldest() {
    let _machine = heavy().await;
    let client = client();
    let ev = client.eventing_channel(json!({})).await;

    let (s, v) = client
        .publish(&ev, "big", json!({"blob": "x".repeat(700_000)}))
        .await;
    let message = assert_rest_error(s, &v, 413);
    assert!(message.contains("EVENT_MAX_BYTES"), "{message}");
    assert!(message.contains(&EVENT_MAX_BYTES.to_string()), "{message}");
    // Just over the limit (its type and data as JSON) is refused too.
    let pad = EVENT_MAX_BYTES - "big".len() - r#"{"blob":""}"#.len();
    let (s, v) = client
        .publish(&ev, "big", json!({"blob": "x".repeat(pad + 1)}))
        .await;
    assert_rest_error(s, &v, 413);
    let (s, at_limit) = client
        .publish(&ev, "big", json!({"blob": "x".repeat(pad)}))
        .await;
    assert_eq!(s, 202, "an event of exactly EVENT_MAX_BYTES is taken");

    let mut ids = vec![at_limit["id"].as_str().unwrap().to_string()];
    for i in 0..15 {
        let (s, e) = client
            .publish(&ev, "big", json!({"i": i, "blob": "y".repeat(200_000)}))
            .await;
        assert_eq!(s, 202, "publish {i}: {e}");
        ids.push(e["id"].as_str().unwrap().to_string());
    }
    let newest = ids.last().unwrap().clone();

    let mut ws = client
        .subscribe(&ev, &format!("?last_event_id={}", ids[0]))
        .await;
    assert_eq!(next_json(&mut ws).await["type"], "$gap");
    let mut replayed = Vec::new();
    let mut bytes = 0;
    loop {
        let e = next_json(&mut ws).await;
        bytes += serde_json::to_string(&e).unwrap().len();
        replayed.push(e["id"].as_str().unwrap().to_string());
        if e["id"] == newest.as_str() {
            break;
        }
    }
    assert!(bytes <= EVENT_BUFFER_BYTES, "{bytes} bytes replayed");
    assert!(
        bytes + 200_000 > EVENT_BUFFER_BYTES,
        "no older event would have fitted: {bytes} bytes, {replayed:?}"
    );
    assert_eq!(replayed[..], ids[ids.len() - replayed.len()..], "in order");
    // Still publishing.
    let (s, e) = client.publish(&ev, "small", json!({})).await;
    assert_eq!(s, 202, "{e}");
    assert_eq!(next_json(&mut ws).await, e);
}

/// Builds the V8 serialization (format 15) that workerd stores a Durable
/// Object's storage values in, for the shapes an older hub wrote through
/// `serde_wasm_bindgen`: structs as objects, JSON objects as `Map`s, JSON
/// null as `undefined`.
mod v8 {
    use serde_json::Value;

    fn varint(out: &mut Vec<u8>, mut n: u64) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// A whole value: the header, then `body`.
    pub fn value(body: Vec<u8>) -> Vec<u8> {
        let mut out = vec![0xff, 0x0f];
        out.extend(body);
        out
    }

    pub fn string(s: &str) -> Vec<u8> {
        assert!(s.is_ascii(), "one-byte strings only");
        let mut out = vec![b'"'];
        varint(&mut out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
        out
    }

    pub fn int(n: i32) -> Vec<u8> {
        let mut out = vec![b'I'];
        varint(&mut out, ((n << 1) ^ (n >> 31)) as u32 as u64);
        out
    }

    /// A struct: an object of these fields.
    pub fn object(fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![b'o'];
        for (k, v) in fields {
            out.extend(string(k));
            out.extend_from_slice(v);
        }
        out.push(b'{');
        varint(&mut out, fields.len() as u64);
        out
    }

    /// A sequence: a dense array.
    pub fn array(items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![b'A'];
        varint(&mut out, items.len() as u64);
        for v in items {
            out.extend_from_slice(v);
        }
        out.push(b'$');
        varint(&mut out, 0);
        varint(&mut out, items.len() as u64);
        out
    }

    /// A `serde_json::Value`.
    pub fn json(v: &Value) -> Vec<u8> {
        match v {
            Value::Null => vec![b'_'],
            Value::Bool(true) => vec![b'T'],
            Value::Bool(false) => vec![b'F'],
            Value::Number(n) => int(n.as_i64().expect("small integers only") as i32),
            Value::String(s) => string(s),
            Value::Array(items) => array(&items.iter().map(json).collect::<Vec<_>>()),
            Value::Object(map) => {
                let mut out = vec![b';'];
                for (k, v) in map {
                    out.extend(string(k));
                    out.extend(json(v));
                }
                out.push(b':');
                varint(&mut out, 2 * map.len() as u64);
                out
            }
        }
    }
}

/// An event as an older hub stored it in its `buffer` value.
fn v8_event(e: &Value) -> Vec<u8> {
    v8::object(&[
        ("id", v8::string(e["id"].as_str().unwrap())),
        ("type", v8::string(e["type"].as_str().unwrap())),
        ("ts", v8::string(e["ts"].as_str().unwrap())),
        ("data", v8::json(&e["data"])),
    ])
}

/// The encoding above is byte for byte what the hub before issue 9 stored
/// (read from its SQLite file after two publishes).
#[test]
fn the_v8_fixture_matches_what_an_older_hub_stored() {
    let data = json!({"n": 0, "s": "x", "nested": {"a": [1, true, null]}});
    let mut second = data.clone();
    second["n"] = json!(1);
    let events = [
        json!({"id": "1", "type": "order.paid", "ts": "2026-12-01T19:16:05.324Z", "data": data}),
        json!({"id": "2", "type": "order.paid", "ts": "2026-12-01T19:16:05.374Z", "data": second}),
    ];
    let buffer = v8::value(v8::object(&[(
        "events",
        v8::array(&events.iter().map(v8_event).collect::<Vec<_>>()),
    )]));
    let stored = "ff0f6f22066576656e747341026f22026964220131220474797065220a6f726465722e70616964\
        220274732218323032362d31322d30315431393a31363a30352e3332345a2204646174613b22016e4900220173\
        22017822066e65737465643b22016141034902545f2400033a023a067b046f22026964220132220474797065220a\
        6f726465722e70616964220274732218323032362d31322d30315431393a31363a30352e3337345a220464617461\
        3b22016e490222017322017822066e65737465643b22016141034902545f2400033a023a067b042400027b01";
    let hex: String = buffer.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, stored);
    assert_eq!(v8::value(v8::int(2)), [0xff, 0x0f, b'I', 4]);
}

/// The one ChannelHub SQLite file under `dir` that has the hub's tables.
fn hub_file(dir: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = syncbridge_tests::harness::sqlite_files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("ChannelHub"))
        .filter(|p| {
            let db = rusqlite::Connection::open(p).unwrap();
            let has: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'hub_meta'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            has == 1
        })
        .collect();
    assert_eq!(found.len(), 1, "hubs with tables: {found:?}");
    found.pop().unwrap()
}

/// A hub written before issue 9 kept its sequence, buffer and subscriptions
/// as three storage values. After the upgrade, its first use moves them
/// into rows and deletes them: a reconnecting subscriber still gets what it
/// missed, numbering goes on, and the subscriber still gets deliveries.
#[tokio::test]
async fn a_hub_stored_by_an_older_version_keeps_its_events_and_subscriptions() {
    let dir = state_dir("old-hub");
    let worker = start_worker_opts(limits_settings(), Some(&dir), None).await;
    let client = TestClient::of(&worker);
    let ev = client.eventing_channel(json!({})).await;
    // The hub's first use: its (empty) tables.
    let r = client
        .http()
        .get(subscribe_url(&client, &ev))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    stop_worker(worker).await;

    // What an older version would have stored: events 2 and 3 (1 dropped), and a subscription.
    let key = unique("old-sub");
    let target = receiver_url(&format!("/status/{key}?code=200"));
    let events: Vec<Value> = (2..=3)
        .map(|n| {
            json!({"id": n.to_string(), "type": "order.paid", "ts": "2026-01-01T00:00:00.000Z",
                   "data": {"n": n, "items": [1, null], "who": {"name": "old"}}})
        })
        .collect();
    let buffer = v8::value(v8::object(&[(
        "events",
        v8::array(&events.iter().map(v8_event).collect::<Vec<_>>()),
    )]));
    let subscription = v8::value(v8::array(&[v8::object(&[
        ("id", v8::string("5b0c8f8e-0000-4000-8000-000000000001")),
        ("url", v8::string(&target)),
        ("events", v8::array(&[v8::string("order.*")])),
        ("created_at", v8::string("2026-01-01T00:00:00.000Z")),
    ])]));
    let file = hub_file(&dir);
    {
        let db = rusqlite::Connection::open(&file).unwrap();
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
        )
        .unwrap();
        for (k, v) in [
            ("seq", v8::value(v8::int(3))),
            ("buffer", buffer),
            ("subscriptions", subscription),
        ] {
            db.execute("INSERT INTO _cf_KV (key, value) VALUES (?1, ?2)", (k, v))
                .unwrap();
        }
    }

    let worker = start_worker_opts(limits_settings(), Some(&dir), None).await;
    let client = TestClient::of(&worker);
    let mut ws = client.subscribe(&ev, "?last_event_id=1").await;
    for want in &events {
        let got = next_json(&mut ws).await;
        assert_eq!(&got, want, "replayed as stored");
    }
    let (s, e) = client.publish(&ev, "order.shipped", json!({})).await;
    assert_eq!(s, 202, "{e}");
    assert_eq!(e["id"], "4", "numbering goes on: {e}");
    assert_eq!(next_json(&mut ws).await, e);
    let list: Value = client
        .http()
        .get(subscribe_url(&client, &ev))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["url"], target.as_str(), "{list}");
    let hits = syncbridge_tests::harness::receiver()
        .wait_hits(&key, 1, PATIENCE)
        .await;
    assert_eq!(hits.len(), 1, "the old subscription gets the new event");
    assert_eq!(serde_json::from_slice::<Value>(&hits[0].body).unwrap(), e);
    stop_worker(worker).await;

    // Moved, not copied: the old values are gone and the rows are there.
    let rows = query_sqlite_files(&dir, "SELECT key FROM _cf_KV");
    for old in ["seq", "buffer", "subscriptions"] {
        assert!(
            !rows.iter().any(|k| k == old),
            "{old} still stored: {rows:?}"
        );
    }
    let seqs = query_sqlite_files(&dir, "SELECT CAST(seq AS TEXT) FROM events ORDER BY seq");
    assert_eq!(seqs, ["2", "3", "4"]);
}

// ---- finding 2: gateway events feeding themselves -----------------------------

/// A channel whose `opts.eventing_channel` names itself, or leads back to it
/// through other channels, is refused when saved (400): its gateway events
/// would feed themselves.
#[tokio::test]
async fn a_channel_cannot_name_itself_or_a_cycle_as_its_eventing_channel() {
    let client = client();
    let a = client.eventing_channel(json!({})).await;
    let path = |ch: &Value| format!("{API}/{}", id_of(ch));
    let patch_target = |ch: &Value, target: &Value| {
        let client = client.clone();
        let (path, target) = (path(ch), target["id"].clone());
        async move {
            client
                .admin(
                    Method::PATCH,
                    &path,
                    Some(json!({"opts": {"eventing_channel": target}})),
                )
                .await
        }
    };
    let (s, v) = patch_target(&a, &a).await;
    let message = assert_rest_error(s, &v, 400);
    assert!(message.contains("opts.eventing_channel"), "{message}");
    assert!(message.contains("itself"), "{message}");

    // b → a is fine; then a → b closes a cycle.
    let b = client
        .eventing_channel(json!({"eventing_channel": a["id"]}))
        .await;
    let (s, v) = patch_target(&a, &b).await;
    let message = assert_rest_error(s, &v, 400);
    assert!(message.contains("cycle"), "{message}");
    // c → b → a, and a public channel → c: chains without a cycle are fine.
    let c = client
        .eventing_channel(json!({"eventing_channel": b["id"]}))
        .await;
    traffic_channel(&client, &c).await;
    // a → c → b → a is a cycle too.
    let (s, v) = patch_target(&a, &c).await;
    let message = assert_rest_error(s, &v, 400);
    assert!(message.contains("cycle"), "{message}");
    // Nothing was saved.
    let (s, v) = client.admin(Method::GET, &path(&a), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["opts"]["eventing_channel"], "", "{v}");
}

/// An eventing channel's subscriber fails, and the channel sends its own
/// gateway events to another eventing channel whose subscriber fails too:
/// the second delivery carries a gateway event, so its death publishes
/// nothing more (a loop of them used to make a delivery a second forever).
#[tokio::test]
async fn a_delivery_carrying_a_gateway_event_reports_nothing_when_it_dies() {
    let client = client();
    let watcher = client.eventing_channel(json!({})).await;
    let failing = |next: &Value| {
        let client = client.clone();
        let next = next["id"].clone();
        async move {
            let ch = client
                .eventing_channel(json!({
                    "eventing_channel": next,
                    "callback": {"retry": fast(1)},
                }))
                .await;
            let target = receiver_url(&format!("/status/{}?code=503", unique("dying")));
            let r = subscribe_webhook(&client, &ch, &target).await;
            assert_eq!(r.status(), 201);
            ch
        }
    };
    let second = failing(&watcher).await;
    let first = failing(&second).await;
    let mut watching = client.subscribe(&watcher, "").await;
    let mut reports = client.subscribe(&second, "").await;

    let (s, e) = client.publish(&first, "order.paid", json!({})).await;
    assert_eq!(s, 202, "{e}");
    // The first delivery dies and is reported on `second`...
    let report = next_json(&mut reports).await;
    assert_eq!(report["type"], "gateway.delivery.dead", "{report}");
    assert_eq!(report["data"]["channel_id"], first["id"], "{report}");
    let list = client.deliveries(&first).await;
    assert_eq!(list[0]["event_type"], "order.paid", "{list}");
    // ...whose subscriber gets that report, and fails too.
    let start = Instant::now();
    let carried = loop {
        let list = client.deliveries(&second).await;
        if let Some(d) = list.as_array().unwrap().first() {
            let id = d["id"].as_str().unwrap().to_string();
            break client.delivery(&second, &id, finished).await;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no delivery on the second channel"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(carried["state"], "dead", "{carried}");
    assert_eq!(carried["event_type"], "gateway.delivery.dead", "{carried}");
    // Its death is not reported: nothing reaches the watcher.
    if let Some(got) = silent_for(&mut watching, Duration::from_secs(3)).await {
        panic!("a gateway event about a gateway event's delivery: {got}");
    }
    assert_eq!(
        client.deliveries(&second).await.as_array().unwrap().len(),
        1
    );
}

// ---- finding 6: caps on subscribers --------------------------------------------

/// At most `MAX_SUBSCRIPTIONS` webhook subscriptions (then 409) and
/// `WS_MAX_SUBSCRIBERS` WebSocket subscribers (then close 1013) per channel.
#[tokio::test]
async fn subscriptions_and_subscribers_are_capped_per_channel() {
    let client = client();
    let ev = client.eventing_channel(json!({})).await;
    let target = receiver_url(&format!("/status/{}?code=200", unique("capped")));
    let mut subs = Vec::new();
    for _ in 0..MAX_SUBSCRIPTIONS {
        let r = subscribe_webhook(&client, &ev, &target).await;
        assert_eq!(r.status(), 201);
        subs.push(r.json::<Value>().await.unwrap());
    }
    let r = subscribe_webhook(&client, &ev, &target).await;
    assert_rest_answer(
        r,
        409,
        &["MAX_SUBSCRIPTIONS", &MAX_SUBSCRIPTIONS.to_string()],
    )
    .await;
    let list: Value = client
        .http()
        .get(subscribe_url(&client, &ev))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), MAX_SUBSCRIPTIONS);
    // Deleting one makes room for one.
    let r = client
        .http()
        .delete(format!(
            "{}/{}",
            subscribe_url(&client, &ev),
            subs[0]["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(subscribe_webhook(&client, &ev, &target).await.status(), 201);

    let mut open = Vec::new();
    for _ in 0..WS_MAX_SUBSCRIBERS {
        open.push(client.subscribe(&ev, "").await);
    }
    let mut extra = client.subscribe(&ev, "").await;
    let (code, _, _) = refused(&mut extra, Instant::now()).await;
    assert_eq!(code, Some(1013));
    // The ones within the cap still get events.
    let (s, e) = client.publish(&ev, "still", json!({})).await;
    assert_eq!(s, 202);
    for ws in &mut open {
        assert_eq!(next_json(ws).await, e);
    }
    // A subscriber that leaves makes room for one.
    let mut gone = open.pop().unwrap();
    gone.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, gone.next()).await {}
    let start = Instant::now();
    let mut again = loop {
        let mut ws = client.subscribe(&ev, "").await;
        client.publish(&ev, "probe", json!({})).await;
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => break ws,
            _ => assert!(
                start.elapsed() < PATIENCE,
                "no room after a subscriber left"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (s, e) = client.publish(&ev, "welcome", json!({})).await;
    assert_eq!(s, 202);
    loop {
        let got = next_json(&mut again).await;
        if got["type"] == "welcome" {
            assert_eq!(got, e);
            break;
        }
    }
}

// ---- finding 9: last_event_id, and refused connections --------------------------

/// A `last_event_id` that is not an event id is refused before the upgrade
/// (it used to answer 101 with a `$gap` and replay nothing); `0` replays
/// everything, and an empty one nothing.
#[tokio::test]
async fn last_event_id_must_be_a_number() {
    let client = client();
    let ev = client.eventing_channel(json!({})).await;
    let (_, first) = client.publish(&ev, "tick", json!({"n": 1})).await;
    for bad in ["abc", "-1", "1.5", "%201", "99999999999999999999999"] {
        let r = client
            .get(&format!(
                "/ws/token/v1/{}/subscribe?last_event_id={bad}",
                token_of(&ev)
            ))
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_rest_answer(r, 400, &["last_event_id"]).await;
    }
    let mut all = client.subscribe(&ev, "?last_event_id=0").await;
    assert_eq!(next_json(&mut all).await, first);
    let mut none = client.subscribe(&ev, "?last_event_id=").await;
    let (_, second) = client.publish(&ev, "tick", json!({"n": 2})).await;
    assert_eq!(next_json(&mut none).await, second, "no replay, then live");
}

/// A connection refused over a cap (1013) gets its close frame at once and
/// its TCP connection ends with it (it used to stay open ~10 s): inbound
/// connections over `WS_MAX_CONNECTIONS` and subscribers over
/// `WS_MAX_SUBSCRIBERS`.
#[tokio::test]
async fn a_connection_refused_over_a_cap_closes_at_once() {
    let _quiet = quiet().await;
    let client = client();
    let ws_channel = client
        .create_channel(json!({
            "code": unique("ws-cap"),
            "recv_svcscriptcode_ws": process_url("wsecho"),
        }))
        .await;
    let mut open = Vec::new();
    for _ in 0..WS_MAX_CONNECTIONS {
        open.push(client.inbound(&ws_channel).await);
    }
    let ev = client.eventing_channel(json!({})).await;
    for _ in 0..WS_MAX_SUBSCRIBERS {
        open.push(client.subscribe(&ev, "").await);
    }
    for kind in ["inbound", "subscriber"] {
        let start = Instant::now();
        let mut extra = match kind {
            "inbound" => client.inbound(&ws_channel).await,
            _ => client.subscribe(&ev, "").await,
        };
        let (code, closed, ended) = refused(&mut extra, start).await;
        assert_eq!(code, Some(1013), "{kind}");
        assert!(
            closed < Duration::from_secs(2),
            "{kind}: close after {closed:?}"
        );
        assert!(
            ended < Duration::from_secs(2),
            "{kind}: TCP end after {ended:?}"
        );
    }
}
