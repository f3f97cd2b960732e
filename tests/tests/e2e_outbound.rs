//! End-to-end tests of outbound callbacks: the real worker with real D1 and
//! queues (Miniflare), delivering to a loopback receiver that fails, accepts,
//! redirects or asks for patience as each test needs.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use syncbridge_tests::receiver::Receiver;
use syncbridge_tests::unique;
use syncbridge_tests::worker::Worker;

const ADMIN: &str = "outbound-admin-token-0123456789";
const API: &str = "/rest/v1/service/integration_points";

struct Env {
    worker: Worker,
    receiver: Receiver,
}

fn vars(allowed: &str) -> Value {
    json!({
        "CALLBACK_SECRET": "outbound-tests-callback-secret-012345",
        "ADMIN_TOKEN": ADMIN,
        "CALLBACK_ALLOWED_HOSTS": allowed,
        "CALLBACK_TIMEOUT_S": "2",
        "CALLBACK_SWEEP_GRACE_S": "2",
    })
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let receiver = Receiver::start_background();
        let worker = Worker::start_opts(&vars("http://127.0.0.1"), None, Some(1000));
        Env { worker, receiver }
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn admin_on(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = http()
        .request(method, format!("{base}{path}"))
        .bearer_auth(ADMIN);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let s = resp.status();
    let text = resp.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn admin(method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    admin_on(&env().worker.base, method, path, body).await
}

/// A channel delivering to the receiver's `path` with this callback config.
async fn channel_on(base: &str, path: &str, callback: Value) -> Value {
    let url = format!("{}{path}", env().receiver.url());
    let (s, v) = admin_on(
        base,
        reqwest::Method::POST,
        API,
        Some(json!({"code": unique("out"), "url": url, "opts": {"callback": callback}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn channel(path: &str, callback: Value) -> Value {
    channel_on(&env().worker.base, path, callback).await
}

fn fast(max_attempts: u32) -> Value {
    json!({"schedule": "interval", "interval_s": 1, "max_attempts": max_attempts})
}

async fn send_on(
    base: &str,
    ch: &Value,
    variables: Value,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut rb = http()
        .post(format!("{base}{API}/{}/send", ch["id"].as_str().unwrap()))
        .bearer_auth(ADMIN)
        .json(&json!({"variables": variables}));
    if let Some(k) = key {
        rb = rb.header("idempotency-key", k);
    }
    let resp = rb.send().await.unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn send(ch: &Value, variables: Value) -> String {
    let (s, v) = send_on(&env().worker.base, ch, variables, None).await;
    assert_eq!(s, 202, "{v}");
    v["delivery_id"].as_str().unwrap().to_string()
}

/// Polls a delivery until `done` says so (or 20 s pass).
async fn delivery_on(base: &str, ch: &Value, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let path = format!("{API}/{}/deliveries/{id}", ch["id"].as_str().unwrap());
    let start = Instant::now();
    loop {
        let (s, v) = admin_on(base, reqwest::Method::GET, &path, None).await;
        assert_eq!(s, 200, "{v}");
        if done(&v) || start.elapsed() > Duration::from_secs(20) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn delivery(ch: &Value, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    delivery_on(&env().worker.base, ch, id, done).await
}

fn finished(v: &Value) -> bool {
    v["state"] != "pending"
}

fn statuses(d: &Value) -> Vec<Value> {
    d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect()
}

#[tokio::test]
async fn delivered_on_the_attempt_after_n_failures() {
    let key = unique("flaky");
    let ch = channel(
        &format!("/flaky/{key}?fail=2"),
        json!({"body": "hi", "retry": fast(5)}),
    )
    .await;
    let id = send(&ch, json!({})).await;
    let d = delivery(&ch, &id, finished).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(statuses(&d), [json!(503), json!(503), json!(200)]);
    let a = &d["attempts"][2];
    assert!(
        a["latency_ms"].is_u64() && a["at"].as_str().unwrap().ends_with('Z'),
        "{a}"
    );
    assert_eq!(a["response_excerpt"], "accepted");
    let hits = env().receiver.hits(&key);
    assert_eq!(hits.len(), 3);
    // About a second apart (interval_s = 1).
    assert!(hits[1].at - hits[0].at >= Duration::from_millis(900));
}

#[tokio::test]
async fn stops_at_the_attempt_limit_and_is_dead_then_resend_restarts_it() {
    let key = unique("dead");
    let ch = channel(
        &format!("/flaky/{key}?fail=3"),
        json!({"body": "x", "retry": fast(3)}),
    )
    .await;
    let id = send(&ch, json!({})).await;
    let d = delivery(&ch, &id, finished).await;
    assert_eq!(d["state"], "dead", "{d}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 3);
    assert!(d["error"].as_str().unwrap().contains('3'), "{d}");

    // The receiver accepts from the 4th request on: a resend delivers.
    let path = format!(
        "{API}/{}/deliveries/{id}/resend",
        ch["id"].as_str().unwrap()
    );
    let (s, v) = admin(reqwest::Method::POST, &path, None).await;
    assert_eq!(s, 202, "{v}");
    let d = delivery(&ch, &id, finished).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 4);
    // Only a dead or failed delivery can be resent.
    let (s, _) = admin(reqwest::Method::POST, &path, None).await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let key = unique("ra");
    let ch = channel(
        &format!("/retry-after/{key}?secs=3"),
        json!({"body": "x", "retry": fast(3)}),
    )
    .await;
    let id = send(&ch, json!({})).await;
    let d = delivery(&ch, &id, finished).await;
    assert_eq!(d["state"], "delivered", "{d}");
    let hits = env().receiver.hits(&key);
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(2900),
        "retried after {gap:?}, before Retry-After: 3"
    );
}

#[tokio::test]
async fn gone_stops_at_once() {
    let key = unique("gone");
    let ch = channel(
        &format!("/status/{key}?code=410"),
        json!({"body": "x", "retry": fast(5)}),
    )
    .await;
    let id = send(&ch, json!({})).await;
    let d = delivery(&ch, &id, finished).await;
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(statuses(&d), [json!(410)]);
    assert!(d["error"].as_str().unwrap().contains("410"));
}

#[tokio::test]
async fn only_200_counts_by_default_any_2xx_when_asked() {
    let strict_key = unique("strict");
    let mut retry = fast(2);
    let strict = channel(
        &format!("/status/{strict_key}?code=201"),
        json!({"body": "x", "retry": retry}),
    )
    .await;
    retry["success"] = json!("2xx");
    let loose_key = unique("loose");
    let loose = channel(
        &format!("/status/{loose_key}?code=201"),
        json!({"body": "x", "retry": retry}),
    )
    .await;
    let (a, b) = (
        send(&strict, json!({})).await,
        send(&loose, json!({})).await,
    );
    let d = delivery(&strict, &a, finished).await;
    assert_eq!(
        d["state"], "dead",
        "201 is not success under the Corteos rule: {d}"
    );
    let d = delivery(&loose, &b, finished).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(statuses(&d), [json!(201)]);
}

const HOSTILE: &str = "Quote \" back\\slash <tag> & amp 'apos'\nnew line\ttab é ✓ 😀 %20 +=&";

#[tokio::test]
async fn json_xml_form_and_get_values_are_escaped_for_their_type() {
    let vars = json!({"v": HOSTILE, "n": 42});
    // JSON
    let key = unique("json");
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({
            "headers": "Content-Type: application/json",
            "body": "{\"v\": \"@v\", \"n\": @n, \"id\": \"@CallbackId\"}",
            "variables": ["v", "n"], "retry": fast(1),
        }),
    )
    .await;
    send(&ch, vars.clone()).await;
    let hit = &env()
        .receiver
        .wait_hits(&key, 1, Duration::from_secs(10))
        .await[0];
    let got: Value = serde_json::from_slice(&hit.body).expect("the body is valid JSON");
    assert_eq!(got["v"], HOSTILE);
    assert_eq!(got["n"], 42);
    assert!(got["id"].as_str().unwrap().parse::<u64>().unwrap() > 600_000_000_000_000_000);
    assert_eq!(hit.headers["content-type"], "application/json");

    // XML (SOAP)
    let key = unique("xml");
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({
            "headers": "Content-Type: text/xml;charset=UTF-8\nSOAPAction: http://sap.com/xi/WebService/soap1.1",
            "body": "<Envelope><Body><V>@v</V><Raw>@!v</Raw></Body></Envelope>",
            "variables": ["v"], "retry": fast(1),
        }),
    )
    .await;
    send(&ch, json!({"v": "<b>&\"'"})).await;
    let hit = &env()
        .receiver
        .wait_hits(&key, 1, Duration::from_secs(10))
        .await[0];
    let text = String::from_utf8(hit.body.clone()).unwrap();
    assert_eq!(
        text,
        "<Envelope><Body><V>&lt;b&gt;&amp;&quot;&apos;</V><Raw><b>&\"'</Raw></Body></Envelope>"
    );
    assert_eq!(
        hit.headers["soapaction"],
        "http://sap.com/xi/WebService/soap1.1"
    );

    // Form
    let key = unique("form");
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({
            "headers": "Content-Type: application/x-www-form-urlencoded",
            "body": "v=@v&n=@n", "variables": ["v", "n"], "retry": fast(1),
        }),
    )
    .await;
    send(&ch, vars.clone()).await;
    let hit = &env()
        .receiver
        .wait_hits(&key, 1, Duration::from_secs(10))
        .await[0];
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&hit.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [("v".into(), HOSTILE.into()), ("n".into(), "42".into())]
    );

    // GET: the template is the query.
    let key = unique("get");
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({"method": "GET", "body": "v=@v", "variables": ["v"], "retry": fast(1)}),
    )
    .await;
    send(&ch, vars).await;
    let hit = &env()
        .receiver
        .wait_hits(&key, 1, Duration::from_secs(10))
        .await[0];
    assert_eq!(hit.method, "GET");
    assert!(hit.body.is_empty());
    let query = hit.uri.split_once('?').unwrap().1;
    let v: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "v")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(v, [HOSTILE]);
}

#[tokio::test]
async fn bad_templates_are_refused_when_the_channel_is_saved() {
    let url = format!("{}/status/x", env().receiver.url());
    for (callback, needle) in [
        (json!({"body": "@nope"}), "nope"),
        (json!({"body": "{\"a\": \"@{unclosed\"}"}), "@"),
        (json!({"method": "DELETE"}), "method"),
        (json!({"headers": "no colon here"}), "header"),
        (json!({"retry": {"max_attempts": 0}}), "max_attempts"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (s, v) = admin(
            reqwest::Method::POST,
            API,
            Some(json!({"code": unique("bad"), "url": url, "opts": {"callback": callback}})),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error_message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
}

#[tokio::test]
async fn destinations_off_the_allow_list_are_refused_at_save() {
    for url in [
        "https://evil.example/hook",
        "http://localhost:9/hook",
        "ftp://127.0.0.1/x",
    ] {
        let (s, v) = admin(
            reqwest::Method::POST,
            API,
            Some(json!({"code": unique("deny"), "url": url, "opts": {"callback": {"body": "x"}}})),
        )
        .await;
        assert_eq!(s, 400, "{url}: {v}");
        assert!(v["error_message"].as_str().unwrap().contains("url"), "{v}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let key = unique("redir");
    let ch = channel(
        &format!("/redirect/{key}"),
        json!({"body": "x", "retry": fast(1)}),
    )
    .await;
    let id = send(&ch, json!({})).await;
    let d = delivery(&ch, &id, finished).await;
    assert_eq!(d["state"], "dead", "{d}");
    assert_eq!(statuses(&d), [json!(302)]);
    assert!(
        d["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not followed"),
        "{d}"
    );
    assert!(
        env().receiver.hits(&format!("{key}-target")).is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_delivery() {
    let key = unique("idem");
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({"body": "x", "retry": fast(1)}),
    )
    .await;
    let base = &env().worker.base;
    let (s1, a) = send_on(base, &ch, json!({}), Some("order-42")).await;
    let (s2, b) = send_on(base, &ch, json!({}), Some("order-42")).await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (202, 202));
    assert_eq!(a["delivery_id"], b["delivery_id"]);
    assert_eq!(b["idempotent_replay"], true);
    let (_, c) = send_on(base, &ch, json!({}), Some("order-43")).await;
    assert_ne!(a["delivery_id"], c["delivery_id"]);
    env()
        .receiver
        .wait_hits(&key, 2, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env().receiver.hits(&key).len(), 2, "one request per key");
    let (_, list) = admin(
        reqwest::Method::GET,
        &format!("{API}/{}/deliveries", ch["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_test_send_makes_one_attempt_and_queues_nothing() {
    let key = unique("test");
    let ch = channel(
        &format!("/status/{key}?code=503"),
        json!({"body": "hello @v", "variables": ["v"]}),
    )
    .await;
    let resp = http()
        .post(format!(
            "{}{API}/{}/send/test",
            env().worker.base,
            ch["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"variables": {"v": "world"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["status"], 503);
    assert!(v["body_excerpt"].as_str().unwrap().contains("503"), "{v}");
    assert!(
        v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "content-type"),
        "{v}"
    );
    assert_eq!(v["request"]["body"], "hello world");
    let hits = env().receiver.hits(&key);
    assert_eq!(hits.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        env().receiver.hits(&key).len(),
        1,
        "a test send is never retried"
    );
    let (_, list) = admin(
        reqwest::Method::GET,
        &format!("{API}/{}/deliveries", ch["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn sends_need_the_admin_token_or_the_process_key_and_every_declared_variable() {
    let key = unique("auth");
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({"body": "@v", "variables": ["v"], "process_key": "process-key-0123456789", "retry": fast(1)}),
    )
    .await;
    let url = format!(
        "{}{API}/{}/send",
        env().worker.base,
        ch["id"].as_str().unwrap()
    );
    let body = json!({"variables": {"v": "1"}});
    let r = http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .post(&url)
        .bearer_auth("wrong-key-wrong-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .post(&url)
        .bearer_auth("process-key-0123456789")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // The process key opens nothing else.
    let r = http()
        .get(format!(
            "{}{API}/{}",
            env().worker.base,
            ch["id"].as_str().unwrap()
        ))
        .bearer_auth("process-key-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The key is not shown to the channel's process in webhook events, nor
    // needed: a missing variable is a 422 naming it.
    let r = http()
        .post(&url)
        .bearer_auth(ADMIN)
        .json(&json!({"variables": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(v["error_message"].as_str().unwrap().contains('v'), "{v}");
}

#[tokio::test]
async fn deliveries_carry_standard_webhooks_signatures() {
    let key = unique("signed");
    let raw = b"outbound-signing-key-0123456789";
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    let ch = channel(
        &format!("/status/{key}?code=200"),
        json!({"body": "{\"a\":1}", "headers": "Content-Type: application/json", "signing_secret": secret, "retry": fast(1)}),
    )
    .await;
    let id = send(&ch, json!({})).await;
    let hit = &env()
        .receiver
        .wait_hits(&key, 1, Duration::from_secs(10))
        .await[0];
    assert_eq!(hit.headers["webhook-id"], id);
    let ts = &hit.headers["webhook-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(raw).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&hit.body);
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(hit.headers["webhook-signature"], want);
    // The secret never shows in the delivery log.
    let d = delivery(&ch, &id, finished).await;
    assert!(!d.to_string().contains(&secret));
}

/// A fresh folder for a runtime's persisted state.
fn state_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("syncbridge-{}", unique(name)));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Starts a runtime on the persisted state in `dir` (cron every second),
/// with `allowed` as CALLBACK_ALLOWED_HOSTS.
async fn runtime(dir: &std::path::Path, allowed: &str) -> Worker {
    let (dir, v) = (dir.to_path_buf(), vars(allowed));
    tokio::task::spawn_blocking(move || Worker::start_opts(&v, Some(&dir), Some(1000)))
        .await
        .unwrap()
}

/// Stops a runtime gracefully (off the async threads: it waits for workerd).
async fn stop(w: Worker) {
    tokio::task::spawn_blocking(move || drop(w)).await.unwrap();
}

/// Two workers in turn on one persisted state, as a restart of the runtime.
#[tokio::test]
async fn a_restart_between_attempts_loses_nothing() {
    let dir = state_dir("restart");
    let key = unique("restart");
    let receiver = env().receiver.clone();
    let first = runtime(&dir, "http://127.0.0.1").await;
    let retry = json!({"schedule": "interval", "interval_s": 3, "max_attempts": 5});
    let ch = channel_on(
        &first.base,
        &format!("/flaky/{key}?fail=1"),
        json!({"body": "x", "retry": retry}),
    )
    .await;
    let (s, v) = send_on(&first.base, &ch, json!({}), None).await;
    assert_eq!(s, 202, "{v}");
    let id = v["delivery_id"].as_str().unwrap().to_string();
    // The first attempt fails; stop the runtime while the retry waits in the queue.
    assert_eq!(
        receiver
            .wait_hits(&key, 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    stop(first).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        receiver.hits(&key).len(),
        1,
        "nothing ran while the runtime was down"
    );

    let second = runtime(&dir, "http://127.0.0.1").await;
    let d = delivery_on(&second.base, &ch, &id, finished).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(statuses(&d), [json!(503), json!(200)]);
    stop(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The allow-list is checked again at send time: after a restart with a
/// narrower list, a send is refused and a pending delivery fails unsent.
#[tokio::test]
async fn the_allow_list_is_checked_again_at_send_time() {
    let dir = state_dir("allow");
    let key = unique("narrow");
    let first = runtime(&dir, "http://127.0.0.1").await;
    let retry = json!({"schedule": "interval", "interval_s": 2, "max_attempts": 5});
    let ch = channel_on(
        &first.base,
        &format!("/flaky/{key}?fail=1"),
        json!({"body": "x", "retry": retry}),
    )
    .await;
    let (_, v) = send_on(&first.base, &ch, json!({}), None).await;
    let id = v["delivery_id"].as_str().unwrap().to_string();
    assert_eq!(
        env()
            .receiver
            .wait_hits(&key, 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    stop(first).await;

    let second = runtime(&dir, "api.partner.example").await;
    let (s, v) = send_on(&second.base, &ch, json!({}), None).await;
    assert_eq!(s, 422, "{v}");
    let d = delivery_on(&second.base, &ch, &id, finished).await;
    assert_eq!(d["state"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("not sent"), "{d}");
    assert_eq!(
        env().receiver.hits(&key).len(),
        1,
        "nothing was sent off the list"
    );
    stop(second).await;
    let _ = std::fs::remove_dir_all(&dir);
}
