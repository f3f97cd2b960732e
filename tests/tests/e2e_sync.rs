//! End-to-end tests of the Sync API: the real wasm worker in workerd
//! (through Miniflare), real Durable Objects, and a simulated Corezoid engine
//! on loopback that checks every forwarded signature.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use syncbridge_core::request_id;
use syncbridge_tests::client::{corezoid_signature, now_s, post_raw, sync_call, sync_url};
use syncbridge_tests::engine::Engine;
use syncbridge_tests::worker::Worker;

const LOGIN: &str = "partner";
const SECRET: &str = "partner-secret-0123";
const OTHER_LOGIN: &str = "other";
const OTHER_SECRET: &str = "other-secret-4567";
const CALLBACK_SECRET: &str = "test-callback-secret-0123456789abcdef";
const MAX_OPS: usize = 5;
const MAX_BODY: usize = 8192;

struct Env {
    worker: Worker,
    engine: Engine,
}

fn keys() -> HashMap<String, String> {
    HashMap::from([
        (LOGIN.to_string(), SECRET.to_string()),
        (OTHER_LOGIN.to_string(), OTHER_SECRET.to_string()),
    ])
}

fn vars(engine_url: &str) -> Value {
    json!({
        "API_KEYS": serde_json::to_string(&keys()).unwrap(),
        "CALLBACK_SECRET": CALLBACK_SECRET,
        "COREZOID_API_URL": engine_url,
        "SYNC_DEFAULT_TIMEOUT_S": "2",
        "SYNC_MAX_TIMEOUT_S": "60",
        "MAX_OPS": MAX_OPS.to_string(),
        "MAX_BODY_BYTES": MAX_BODY.to_string(),
    })
}

/// One worker and one engine shared by every test of this file. The engine
/// runs on a runtime of its own, which outlives each test's runtime.
fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let engine = Engine::start_background(keys());
        let worker = Worker::start(&vars(&engine.url()));
        Env { worker, engine }
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// A tag unique to this call, so a test finds its own tasks in the engine's log.
fn tag(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn create(conv_id: Value, data: Value) -> Value {
    json!({"type": "create", "obj": "task", "conv_id": conv_id, "data": data})
}

async fn call(body: &Value) -> (u16, Value) {
    sync_call(&http(), &env().worker.base, LOGIN, SECRET, body).await
}

async fn show(login: &str, secret: &str, id: &str) -> Value {
    let body = json!({"ops": [{"type": "show", "obj": "result", "request_id": id}]});
    let (status, v) = sync_call(&http(), &env().worker.base, login, secret, &body).await;
    assert_eq!(status, 200, "{v}");
    v["ops"][0].clone()
}

/// Waits until the engine has had `n` answers to callbacks sent to `url`.
async fn callback_answers(url: &str, n: usize) -> Vec<syncbridge_tests::engine::CallbackAnswer> {
    let start = Instant::now();
    loop {
        let got = env().engine.callback_answers(url);
        if got.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn callback_url_of(tag: &str) -> String {
    let got = env().engine.received_with_tag(tag);
    assert_eq!(got.len(), 1, "engine saw {} tasks tagged {tag}", got.len());
    got[0].task["data"]["__callback_url"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn happy_path_returns_the_process_result() {
    let t = tag("happy");
    let body = json!({"timeout": 10, "ops": [{
        "type": "create", "obj": "task", "conv_id": 123, "ref": "order-7", "id": "abc",
        "data": {"tag": t, "amount": 100, "nested": {"k": [1, 2]}}
    }]});
    let (status, v) = call(&body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["request_proc"], "ok");
    let op = &v["ops"][0];
    assert_eq!(op["proc"], "ok", "{v}");
    assert_eq!(
        op["data"]["echo"],
        json!({"tag": t, "amount": 100, "nested": {"k": [1, 2]}})
    );

    // What the engine received: signed with the caller's key, conv_id, ref
    // and id kept, and a callback URL on the worker's own origin.
    let got = env().engine.received_with_tag(&t);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(r.signature_ok, "forwarded signature did not verify");
    assert_eq!(r.login, LOGIN);
    assert!(r.unixtime.abs_diff(now_s()) <= 5);
    assert_eq!(r.task["type"], "create");
    assert_eq!(r.task["obj"], "task");
    assert_eq!(r.task["conv_id"], 123);
    assert_eq!(r.task["ref"], "order-7");
    assert_eq!(r.task["id"], "abc");
    let cb = r.task["data"]["__callback_url"].as_str().unwrap();
    let prefix = format!("{}/api/1/plugins/callback/", env().worker.base);
    assert!(cb.starts_with(&prefix), "{cb}");
    assert_eq!(cb[prefix.len()..].len(), request_id::REQUEST_ID_LEN);
}

#[tokio::test]
async fn three_ops_are_answered_in_request_order() {
    let t = tag("three");
    // Callbacks arrive in the order 2, 3, 1; answers must keep request order.
    let ops: Vec<Value> = [(1, 1500), (2, 0), (3, 1000)]
        .iter()
        .map(|(n, d)| {
            create(
                json!(10 + n),
                json!({"tag": t, "n": n, "sim": {"mode": "late", "delay_ms": d}}),
            )
        })
        .collect();
    let (status, v) = call(&json!({"timeout": 10, "ops": ops})).await;
    assert_eq!(status, 200, "{v}");
    let ns: Vec<Value> = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["data"]["echo"]["n"].clone())
        .collect();
    assert_eq!(ns, vec![json!(1), json!(2), json!(3)], "{v}");
    // In parallel: the engine got all three before the first callback (at
    // 1 s for op 3, 1.5 s for op 1) could have ended a sequential wait.
    let got = env().engine.received_with_tag(&t);
    let first = got.iter().map(|r| r.at).min().unwrap();
    let last = got.iter().map(|r| r.at).max().unwrap();
    assert!(
        last - first < Duration::from_millis(900),
        "ops were not forwarded in parallel: {:?}",
        last - first
    );
    // Each op had its own request id.
    let urls: std::collections::HashSet<String> = env()
        .engine
        .received_with_tag(&t)
        .iter()
        .map(|r| {
            r.task["data"]["__callback_url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(urls.len(), 3);
}

#[tokio::test]
async fn numeric_string_conv_id_is_accepted() {
    let t = tag("strconv");
    let (status, v) = call(&json!({"ops": [create(json!("4242"), json!({"tag": t}))]})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "ok", "{v}");
    assert_eq!(env().engine.received_with_tag(&t)[0].task["conv_id"], 4242);
}

#[tokio::test]
async fn uppercase_signature_is_accepted() {
    let t = tag("upper");
    let body = json!({"ops": [create(json!(1), json!({"tag": t}))]}).to_string();
    let ts = now_s().to_string();
    let sig = corezoid_signature(&ts, SECRET, body.as_bytes()).to_uppercase();
    let url = format!("{}/api/1/json/{LOGIN}/{ts}/{sig}", env().worker.base);
    let (status, v) = post_raw(&http(), &url, body.into_bytes()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "ok");
}

/// Signs `body` (raw) as LOGIN and posts it.
async fn raw_call(body: &str) -> (u16, Value) {
    let url = sync_url(&env().worker.base, LOGIN, SECRET, body.as_bytes());
    post_raw(&http(), &url, body.as_bytes().to_vec()).await
}

fn assert_error(status: u16, v: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["request_proc"], want_code, "{v}");
    assert!(
        v["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{v}"
    );
}

#[tokio::test]
async fn request_level_errors_have_stable_codes() {
    let (s, v) = raw_call("{\"ops\": [").await;
    assert_error(s, &v, 400, "format_error");
    let (s, v) = raw_call("[1,2]").await;
    assert_error(s, &v, 400, "format_error");
    let (s, v) = raw_call("{}").await;
    assert_error(s, &v, 400, "ops_error");
    let (s, v) = raw_call("{\"ops\": []}").await;
    assert_error(s, &v, 400, "ops_error");
    let (s, v) = raw_call("{\"ops\": {}}").await;
    assert_error(s, &v, 400, "format_error");
    let too_many: Vec<Value> = (0..=MAX_OPS).map(|_| create(json!(1), json!({}))).collect();
    let (s, v) = raw_call(&json!({"ops": too_many}).to_string()).await;
    assert_error(s, &v, 400, "ops_error");
    let (s, v) = raw_call("{\"timeout\": -1, \"ops\": [{}]}").await;
    assert_error(s, &v, 400, "format_error");
    let (s, v) = raw_call("{\"timeout\": \"soon\", \"ops\": [{}]}").await;
    assert_error(s, &v, 400, "format_error");
}

#[tokio::test]
async fn access_is_denied_for_bad_signature_unknown_login_and_stale_time() {
    let base = &env().worker.base;
    let body = json!({"ops": [create(json!(1), json!({}))]}).to_string();
    let b = body.as_bytes().to_vec();
    let ts = now_s().to_string();

    let wrong = corezoid_signature(&ts, "not-the-secret", &b);
    let (s, v) = post_raw(
        &http(),
        &format!("{base}/api/1/json/{LOGIN}/{ts}/{wrong}"),
        b.clone(),
    )
    .await;
    assert_error(s, &v, 403, "access_denied");

    let good = corezoid_signature(&ts, SECRET, &b);
    let (s, v) = post_raw(
        &http(),
        &format!("{base}/api/1/json/nobody/{ts}/{good}"),
        b.clone(),
    )
    .await;
    assert_error(s, &v, 403, "access_denied");

    // Signed over another body: the signature covers the raw body.
    let other = corezoid_signature(&ts, SECRET, b"{\"ops\":[]}");
    let (s, v) = post_raw(
        &http(),
        &format!("{base}/api/1/json/{LOGIN}/{ts}/{other}"),
        b.clone(),
    )
    .await;
    assert_error(s, &v, 403, "access_denied");

    for skew in [-400i64, 400] {
        let t = (now_s() as i64 + skew).to_string();
        let sig = corezoid_signature(&t, SECRET, &b);
        let (s, v) = post_raw(
            &http(),
            &format!("{base}/api/1/json/{LOGIN}/{t}/{sig}"),
            b.clone(),
        )
        .await;
        assert_error(s, &v, 403, "access_denied");
        assert!(v["description"].as_str().unwrap().contains("300"), "{v}");
    }
    // Within the window either side is fine.
    for skew in [-250i64, 250] {
        let t = (now_s() as i64 + skew).to_string();
        let tg = tag("skew");
        let body = json!({"ops": [create(json!(1), json!({"tag": tg}))]}).to_string();
        let sig = corezoid_signature(&t, SECRET, body.as_bytes());
        let (s, v) = post_raw(
            &http(),
            &format!("{base}/api/1/json/{LOGIN}/{t}/{sig}"),
            body.into_bytes(),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let big = json!({"ops": [create(json!(1), json!({"blob": "x".repeat(MAX_BODY)}))]}).to_string();
    let (s, v) = raw_call(&big).await;
    assert_error(s, &v, 413, "body_too_large");
}

#[tokio::test]
async fn an_unknown_op_type_fails_only_that_op() {
    let t = tag("mixed");
    let body = json!({"timeout": 10, "ops": [
        {"type": "delete", "obj": "task", "conv_id": 1},
        create(json!(1), json!({"tag": t})),
        {"type": "create", "obj": "task", "conv_id": "abc", "data": {}},
        {"type": "create", "obj": "task", "conv_id": 1, "data": [1]},
    ]});
    let (s, v) = call(&body).await;
    assert_eq!(s, 200, "{v}");
    let ops = v["ops"].as_array().unwrap();
    assert_eq!(ops[0]["proc"], "error");
    assert!(
        ops[0]["description"].as_str().unwrap().contains("delete"),
        "{v}"
    );
    assert_eq!(ops[1]["proc"], "ok");
    assert_eq!(ops[1]["data"]["echo"]["tag"], t);
    assert_eq!(ops[2]["proc"], "error");
    assert!(
        ops[2]["description"].as_str().unwrap().contains("conv_id"),
        "{v}"
    );
    assert_eq!(ops[3]["proc"], "error");
}

#[tokio::test]
async fn explicit_timeout_gives_an_op_error_with_http_200() {
    let t = tag("timeout");
    env(); // start the shared worker before timing
    let started = Instant::now();
    let (s, v) = call(&json!({"timeout": 1, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "silent"}}))]})).await;
    let took = started.elapsed();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["request_proc"], "ok");
    let op = &v["ops"][0];
    assert_eq!(op["proc"], "error");
    assert_eq!(op["description"], "Timeout for create task");
    assert_eq!(
        op["request_id"].as_str().unwrap().len(),
        request_id::REQUEST_ID_LEN
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn default_timeout_gives_504() {
    let t = tag("t504");
    env(); // start the shared worker before timing
    let started = Instant::now();
    let (s, v) =
        call(&json!({"ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "silent"}}))]}))
            .await;
    let took = started.elapsed();
    assert_eq!(s, 504, "{v}");
    assert_eq!(v["request_proc"], "timeout");
    assert_eq!(v["description"], "Gateway Time-out");
    // SYNC_DEFAULT_TIMEOUT_S is 2 in this worker.
    assert!(
        took >= Duration::from_millis(1950) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(v["ops"][0]["request_id"].is_string(), "{v}");
}

#[tokio::test]
async fn a_callback_before_the_create_reply_still_reaches_the_caller() {
    let t = tag("early");
    let (s, v) = call(&json!({"timeout": 5, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "callback_first"}}))]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "ok", "{v}");
    assert_eq!(v["ops"][0]["data"]["echo"]["tag"], t);
    let answers = callback_answers(&callback_url_of(&t), 1).await;
    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[0].body, json!({"proc": "ok"}));
}

#[tokio::test]
async fn an_engine_refusal_is_answered_at_once() {
    let t = tag("refuse");
    env(); // start the shared worker before timing
    let started = Instant::now();
    let (s, v) = call(&json!({"timeout": 10, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "refuse"}}))]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "error");
    assert_eq!(v["ops"][0]["description"], "Process is not active");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn engine_5xx_and_non_json_answers_are_clear_op_errors() {
    for (mode, needle) in [("http500", "HTTP 500"), ("non_json", "not a JSON")] {
        let t = tag(mode);
        env(); // start the shared worker before timing
        let started = Instant::now();
        let (s, v) = call(&json!({"timeout": 10, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": mode}}))]})).await;
        assert_eq!(s, 200, "{v}");
        let op = &v["ops"][0];
        assert_eq!(op["proc"], "error", "{v}");
        assert!(op["description"].as_str().unwrap().contains(needle), "{v}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test]
async fn an_engine_slow_past_the_deadline_times_out() {
    let t = tag("slow");
    let (s, v) = call(&json!({"timeout": 1, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "slow", "delay_ms": 4000}}))]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["description"], "Timeout for create task");
}

#[tokio::test]
async fn an_unreachable_engine_is_a_clear_op_error() {
    // A worker of its own whose engine URL points at a closed loopback port.
    let closed = syncbridge_tests::worker::free_port();
    let w = tokio::task::spawn_blocking(move || {
        Worker::start(&vars(&format!("http://127.0.0.1:{closed}")))
    })
    .await
    .unwrap();
    env(); // start the shared worker before timing
    let started = Instant::now();
    let body = json!({"timeout": 10, "ops": [create(json!(1), json!({}))]});
    let (s, v) = sync_call(&http(), &w.base, LOGIN, SECRET, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["proc"], "error");
    assert!(
        v["ops"][0]["description"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn forged_mangled_expired_and_malformed_callbacks_are_refused() {
    let base = &env().worker.base;
    let cb = |id: &str| format!("{base}/api/1/plugins/callback/{id}");
    let body = br#"{"x":1}"#.to_vec();

    // Forged: right shape, MAC under another key.
    let forged = request_id::issue(
        b"some-other-secret-0123456789",
        [7; 16],
        now_s() + 600,
        LOGIN,
    );
    let (s, v) = post_raw(&http(), &cb(&forged), body.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("unknown_request")),
        "{v}"
    );
    // Garbage and wrong length.
    for bad in ["nothex", "00", &"g".repeat(request_id::REQUEST_ID_LEN)] {
        let (s, v) = post_raw(&http(), &cb(bad), body.clone()).await;
        assert_eq!(s, 404, "{bad}: {v}");
        assert_eq!(v["proc"], "error");
    }
    // A real id with one character changed.
    let genuine = request_id::issue(CALLBACK_SECRET.as_bytes(), [9; 16], now_s() + 600, LOGIN);
    let mut mangled = genuine.clone().into_bytes();
    mangled[3] = if mangled[3] == b'a' { b'b' } else { b'a' };
    let (s, _) = post_raw(
        &http(),
        &cb(std::str::from_utf8(&mangled).unwrap()),
        body.clone(),
    )
    .await;
    assert_eq!(s, 404);
    // Authentic but expired.
    let expired = request_id::issue(CALLBACK_SECRET.as_bytes(), [5; 16], now_s() - 5, LOGIN);
    let (s, v) = post_raw(&http(), &cb(&expired), body.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (410, Some("request_expired")),
        "{v}"
    );
    // Authentic and live, but the body is not a JSON object, or is too big.
    for bad in [&b"[1,2]"[..], b"\"text\"", b"{not json"] {
        let (s, v) = post_raw(&http(), &cb(&genuine), bad.to_vec()).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("format_error")), "{v}");
    }
    let huge = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_BODY));
    let (s, v) = post_raw(&http(), &cb(&genuine), huge.into_bytes()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    // The callback route takes POST only.
    let r = http().get(cb(&genuine)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn a_late_result_is_fetched_after_the_timeout_by_its_owner_only() {
    let t = tag("late");
    let (s, v) = call(&json!({"timeout": 0.5, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "late", "delay_ms": 1500}}))]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["description"], "Timeout for create task");
    let id = v["ops"][0]["request_id"].as_str().unwrap().to_string();

    // Before the callback arrives: not yet.
    let op = show(LOGIN, SECRET, &id).await;
    assert_eq!(op["proc"], "wait", "{op}");

    let answers = callback_answers(&callback_url_of(&t), 1).await;
    assert_eq!(answers[0].status, 200, "{:?}", answers[0].body);

    let op = show(LOGIN, SECRET, &id).await;
    assert_eq!(op["proc"], "ok", "{op}");
    assert_eq!(op["request_id"], id.as_str());
    assert_eq!(op["data"]["echo"]["tag"], t);

    // Another login cannot read it, nor can anyone with a mangled id.
    assert_eq!(show(OTHER_LOGIN, OTHER_SECRET, &id).await["proc"], "error");
    assert_eq!(
        show(LOGIN, SECRET, &id[..id.len() - 1]).await["proc"],
        "error"
    );
}

#[tokio::test]
async fn a_duplicate_callback_leaves_the_stored_result_unchanged() {
    let t = tag("dup");
    let (s, v) = call(&json!({"timeout": 5, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "duplicate"}}))]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["data"]["echo"]["tag"], t);
    assert!(v["ops"][0]["data"].get("variant").is_none(), "{v}");

    let url = callback_url_of(&t);
    let answers = callback_answers(&url, 2).await;
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].body, json!({"proc": "ok"}));
    assert_eq!(answers[1].status, 200);
    assert_eq!(answers[1].body, json!({"proc": "ok", "duplicate": true}));

    let id = url.rsplit('/').next().unwrap();
    let op = show(LOGIN, SECRET, id).await;
    assert_eq!(op["proc"], "ok");
    assert!(
        op["data"].get("variant").is_none(),
        "the duplicate replaced the result: {op}"
    );
}

/// A caller that disconnects while parked: the process's later callback is
/// taken and stored, and the same login fetches it. (The waiter itself is
/// released at the deadline at the latest: workerd under Miniflare does not
/// report the disconnect to the worker, see README "Limits".)
#[tokio::test]
async fn a_caller_that_goes_away_loses_nothing() {
    let t = tag("gone");
    let body = json!({"timeout": 10, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "late", "delay_ms": 800}}))]}).to_string();
    let url = sync_url(&env().worker.base, LOGIN, SECRET, body.as_bytes());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(
        client.post(&url).body(body).send().await.is_err(),
        "expected the client to give up"
    );

    let cb = callback_url_of(&t);
    let answers = callback_answers(&cb, 1).await;
    assert_eq!(answers[0].status, 200, "{:?}", answers[0].body);
    let op = show(LOGIN, SECRET, cb.rsplit('/').next().unwrap()).await;
    assert_eq!(op["proc"], "ok", "{op}");
    assert_eq!(op["data"]["echo"]["tag"], t);
}

#[tokio::test]
async fn two_hundred_concurrent_callers_each_get_their_own_result() {
    let http = http();
    let base = env().worker.base.clone();
    let t = tag("crowd");
    let calls = (0..200).map(|i| {
        let http = http.clone();
        let base = base.clone();
        let t = t.clone();
        async move {
            // Spread callbacks so they interleave with other callers' waits.
            let body = json!({"timeout": 60, "ops": [create(json!(1),
                json!({"tag": t, "caller": i, "sim": {"mode": "late", "delay_ms": (i * 7) % 300}}))]});
            let (s, v) = sync_call(&http, &base, LOGIN, SECRET, &body).await;
            (i, s, v)
        }
    });
    let results = futures::future::join_all(calls).await;
    for (i, s, v) in results {
        assert_eq!(s, 200, "caller {i}: {v}");
        assert_eq!(v["ops"][0]["proc"], "ok", "caller {i}: {v}");
        assert_eq!(
            v["ops"][0]["data"]["echo"]["caller"], i,
            "caller {i} got another's result: {v}"
        );
    }
    assert_eq!(env().engine.received_with_tag(&t).len(), 200);
}

#[tokio::test]
async fn every_forwarded_signature_verified() {
    // Runs alongside the others; by the end of any test that forwarded a
    // task, the engine must not have seen a bad signature.
    let t = tag("sig");
    let (s, _) = call(&json!({"ops": [create(json!(1), json!({"tag": t}))]})).await;
    assert_eq!(s, 200);
    assert_eq!(env().engine.bad_signatures(), 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let base = &env().worker.base;
    let r = http().get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "not_found");
    let r = http()
        .get(format!("{base}/api/1/json/{LOGIN}/1/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let r = http().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// A second worker with tight limits and on-disk Durable Object storage:
/// `SYNC_MAX_TIMEOUT_S` = 1 and `RESULT_TTL_S` = 1.
struct Tight {
    worker: Worker,
    dir: std::path::PathBuf,
}

fn tight() -> &'static Tight {
    static TIGHT: OnceLock<Tight> = OnceLock::new();
    TIGHT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("syncbridge-e2e-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut v = vars(&env().engine.url());
        v["SYNC_MAX_TIMEOUT_S"] = json!("1");
        v["RESULT_TTL_S"] = json!("1");
        Tight {
            worker: Worker::start_with(&v, Some(&dir)),
            dir,
        }
    })
}

/// Keys stored by every rendezvous object, read from workerd's SQLite files.
fn stored_keys(dir: &std::path::Path) -> Vec<String> {
    let mut keys = Vec::new();
    let Ok(classes) = std::fs::read_dir(dir.join("do")) else {
        return keys;
    };
    for class in classes.flatten() {
        for file in std::fs::read_dir(class.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = file.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if !name.ends_with(".sqlite") || name == "metadata.sqlite" {
                continue;
            }
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
            let Ok(db) = rusqlite::Connection::open_with_flags(&p, flags) else {
                continue;
            };
            let found: Vec<String> = match db.prepare("SELECT key FROM _cf_KV") {
                Ok(mut st) => st
                    .query_map([], |r| r.get::<_, String>(0))
                    .map(|rows| rows.flatten().collect())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            keys.extend(found);
        }
    }
    keys
}

#[tokio::test]
async fn a_timeout_over_the_maximum_is_cut_to_it() {
    let w = &tight().worker;
    let t = tag("capped");
    let body = json!({"timeout": 3600, "ops": [create(json!(1), json!({"tag": t, "sim": {"mode": "silent"}}))]});
    let started = Instant::now();
    let (s, v) = sync_call(&http(), &w.base, LOGIN, SECRET, &body).await;
    let took = started.elapsed();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ops"][0]["description"], "Timeout for create task");
    assert!(
        took < Duration::from_secs(4),
        "SYNC_MAX_TIMEOUT_S=1 not applied: {took:?}"
    );
}

#[tokio::test]
async fn an_alarm_deletes_a_result_when_its_window_ends() {
    let tw = tight();
    let t = tag("ttl");
    let body = json!({"timeout": 1, "ops": [create(json!(1), json!({"tag": t}))]});
    let (s, v) = sync_call(&http(), &tw.worker.base, LOGIN, SECRET, &body).await;
    assert_eq!((s, &v["ops"][0]["proc"]), (200, &json!("ok")), "{v}");
    let cb = callback_url_of(&t);
    let id = cb.rsplit('/').next().unwrap().to_string();

    // Stored now, and fetchable.
    assert_eq!(show_on(&tw.worker, &id).await["proc"], "ok");
    assert!(stored_keys(&tw.dir).contains(&"result".to_string()));

    // The id takes callbacks until ~2 s from now and its result can be
    // fetched 1 s more; then the alarm deletes it from storage.
    let started = Instant::now();
    while stored_keys(&tw.dir).contains(&"result".to_string()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the result was not deleted by its alarm"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "deleted too early"
    );
    assert_eq!(
        show_on(&tw.worker, &id).await["description"],
        "Result not found"
    );
    // A late callback on the dead id is refused without creating anything.
    let (s, v) = post_raw(&http(), &cb, b"{}".to_vec()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (410, Some("request_expired")),
        "{v}"
    );
}

async fn show_on(w: &Worker, id: &str) -> Value {
    let body = json!({"ops": [{"type": "show", "obj": "result", "request_id": id}]});
    let (status, v) = sync_call(&http(), &w.base, LOGIN, SECRET, &body).await;
    assert_eq!(status, 200, "{v}");
    v["ops"][0].clone()
}
