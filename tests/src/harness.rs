//! The end-to-end harness of `tests/tests/e2e`: workers, peers and a client.
//!
//! One simulated engine ([`engine`]) and one callback receiver ([`receiver`])
//! serve every worker of the test process. One shared worker ([`shared`]),
//! started on first use, carries the union of the settings the areas need
//! ([`shared_settings`]); a test that needs other settings, storage of its
//! own or a quiet machine starts a worker of its own ([`start_worker`],
//! [`quiet_worker`]). A [`TestClient`] speaks to one worker: the Sync API,
//! the channel API with the admin token, webhooks and WebSockets.
//!
//! Timing: a test that measures wall-clock time holds [`quiet`] (shared with
//! other timing tests) and runs on a worker that no load test uses; a test
//! that loads the machine holds [`heavy`], so the two never overlap.

use crate::client::{post_raw, sync_call, sync_url};
use crate::engine::{CallbackAnswer, Engine, ProcessEvent};
use crate::receiver::Receiver;
use crate::worker::Worker;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio_tungstenite::tungstenite::Message;

// ---- the shared worker's settings -----------------------------------------

/// `ADMIN_TOKEN` of every worker the harness starts.
pub const ADMIN: &str = "e2e-admin-token-0123456789abcdef";
/// The channel API's collection.
pub const API: &str = "/rest/v1/service/integration_points";
/// The Sync API login the tests call as, and its key.
pub const LOGIN: &str = "partner";
pub const SECRET: &str = "partner-secret-0123";
/// A second login, to show that one login cannot read another's results.
pub const OTHER_LOGIN: &str = "other";
pub const OTHER_SECRET: &str = "other-secret-4567";
pub const CALLBACK_SECRET: &str = "e2e-callback-secret-0123456789abcdef";
/// `MAX_OPS`.
pub const MAX_OPS: usize = 5;
/// `MAX_BODY_BYTES`.
pub const MAX_BODY: usize = 16384;
/// `SYNC_DEFAULT_TIMEOUT_S`.
pub const SYNC_DEFAULT_TIMEOUT_S: u64 = 2;
/// `SYNC_MAX_TIMEOUT_S`.
pub const SYNC_MAX_TIMEOUT_S: u64 = 60;
/// `WEBHOOK_MAX_WAIT_S`.
pub const WEBHOOK_WAIT_S: u64 = 2;
/// `CALLBACK_TIMEOUT_S`.
pub const CALLBACK_TIMEOUT_S: u64 = 2;
/// `CALLBACK_SWEEP_GRACE_S`, the default: the sweeper leaves the shared
/// worker's deliveries to the queue (the restart tests, whose queue messages
/// die with the runtime, start workers with a short grace of their own).
pub const SWEEP_GRACE_S: u64 = 60;
/// `CALLBACK_ALLOWED_HOSTS`: the loopback receiver, over plain http.
pub const ALLOWED_HOSTS: &str = "http://127.0.0.1";
/// `PROCESS_ALLOWED_HOSTS`: any public host (the default), and the loopback
/// engine and processes over plain http.
pub const PROCESS_ALLOWED_HOSTS: &str = "*, http://127.0.0.1";
/// `WS_MAX_MESSAGE_BYTES`.
pub const WS_MAX_MESSAGE: usize = 1024;
/// `WS_MAX_MESSAGES_PER_S`.
pub const WS_MAX_RATE: u32 = 5;
/// `WS_MAX_CONNECTIONS`.
pub const WS_MAX_CONNECTIONS: usize = 3;
/// `EVENT_BUFFER`.
pub const EVENT_BUFFER: usize = 5;
/// How often serve.mjs fires the cron (the sweeper) on the shared worker.
pub const CRON_MS: u64 = 1000;
/// How long a test waits for something that should happen soon (a message,
/// a log line, a delivery): a bound on failure, not a measure of speed.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The Sync API keys of every worker the harness starts.
pub fn api_keys() -> HashMap<String, String> {
    HashMap::from([
        (LOGIN.to_string(), SECRET.to_string()),
        (OTHER_LOGIN.to_string(), OTHER_SECRET.to_string()),
    ])
}

/// The settings of the shared worker: the union of what every area needs.
/// Start a worker of your own from it with a setting changed or removed.
pub fn shared_settings() -> Value {
    json!({
        "API_KEYS": serde_json::to_string(&api_keys()).unwrap(),
        "CALLBACK_SECRET": CALLBACK_SECRET,
        "COREZOID_API_URL": engine().url(),
        "ADMIN_TOKEN": ADMIN,
        "SYNC_DEFAULT_TIMEOUT_S": SYNC_DEFAULT_TIMEOUT_S.to_string(),
        "SYNC_MAX_TIMEOUT_S": SYNC_MAX_TIMEOUT_S.to_string(),
        "MAX_OPS": MAX_OPS.to_string(),
        "MAX_BODY_BYTES": MAX_BODY.to_string(),
        "WEBHOOK_MAX_WAIT_S": WEBHOOK_WAIT_S.to_string(),
        "CALLBACK_ALLOWED_HOSTS": ALLOWED_HOSTS,
        "PROCESS_ALLOWED_HOSTS": PROCESS_ALLOWED_HOSTS,
        "CALLBACK_TIMEOUT_S": CALLBACK_TIMEOUT_S.to_string(),
        "CALLBACK_SWEEP_GRACE_S": SWEEP_GRACE_S.to_string(),
        "WS_MAX_MESSAGE_BYTES": WS_MAX_MESSAGE.to_string(),
        "WS_MAX_MESSAGES_PER_S": WS_MAX_RATE.to_string(),
        "WS_MAX_CONNECTIONS": WS_MAX_CONNECTIONS.to_string(),
        "EVENT_BUFFER": EVENT_BUFFER.to_string(),
    })
}

// ---- workers and peers ----------------------------------------------------

/// The simulated engine (and HTTP process) of every worker, on a runtime of
/// its own that outlives each test's runtime.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::start_background(api_keys()))
}

/// The loopback receiver of outbound callbacks and subscriptions.
pub fn receiver() -> &'static Receiver {
    static RECEIVER: OnceLock<Receiver> = OnceLock::new();
    RECEIVER.get_or_init(Receiver::start_background)
}

/// The worker most tests share, with [`shared_settings`] and the cron
/// firing every [`CRON_MS`]. Started on first use; it stops with the test
/// process.
pub fn shared() -> &'static Worker {
    static SHARED: OnceLock<Worker> = OnceLock::new();
    SHARED.get_or_init(|| Worker::start_opts(&shared_settings(), None, Some(CRON_MS)))
}

/// A worker with [`shared_settings`] that only timing tests use (under
/// [`quiet`]), so that no load on the shared worker delays their answers.
pub fn quiet_worker() -> &'static Worker {
    static QUIET_WORKER: OnceLock<Worker> = OnceLock::new();
    QUIET_WORKER.get_or_init(|| Worker::start(&shared_settings()))
}

static MACHINE: RwLock<()> = RwLock::const_new(());

/// Held by a test that measures wall-clock time: no [`heavy`] test runs meanwhile.
pub async fn quiet() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

/// Held by a test that loads the machine: no [`quiet`] test runs meanwhile.
pub async fn heavy() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// Starts a worker of its own with `vars` (off the async threads: starting
/// blocks until workerd is ready).
pub async fn start_worker(vars: Value) -> Worker {
    start_worker_opts(vars, None, None).await
}

/// As [`start_worker`], with storage kept under `persist` and the cron
/// firing every `cron_ms`.
pub async fn start_worker_opts(
    vars: Value,
    persist: Option<&Path>,
    cron_ms: Option<u64>,
) -> Worker {
    let persist = persist.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || Worker::start_opts(&vars, persist.as_deref(), cron_ms))
        .await
        .expect("start a worker")
}

/// As [`start_worker`], deployed with `wrangler_toml` instead of the
/// repository's (see [`Worker::start_with_wrangler_toml`]).
pub async fn start_worker_with_wrangler_toml(
    vars: Value,
    wrangler_toml: String,
    persist: Option<&Path>,
    cron_ms: Option<u64>,
) -> Worker {
    let persist = persist.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        Worker::start_with_wrangler_toml(&vars, &wrangler_toml, persist.as_deref(), cron_ms)
    })
    .await
    .expect("start a worker")
}

/// Stops a worker gracefully (off the async threads: it waits for workerd).
pub async fn stop_worker(worker: Worker) {
    tokio::task::spawn_blocking(move || drop(worker))
        .await
        .unwrap();
}

/// A fresh folder for a worker's persisted state.
pub fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("syncbridge-{}", crate::unique(name)));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A folder for the persisted state of a worker that lives as long as the
/// test process (a shared one, never stopped): `syncbridge-{name}-{pid}`.
/// Such folders of test processes that have ended are removed.
pub fn process_state_dir(name: &str) -> PathBuf {
    let prefix = format!("syncbridge-{name}-");
    for entry in std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = std::env::temp_dir().join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The URL of the engine's HTTP process `behavior` (see [`crate::engine`]).
pub fn process_url(behavior: &str) -> String {
    format!("{}/process/{behavior}", engine().url())
}

/// The receiver's URL for `path` (see [`crate::receiver`]).
pub fn receiver_url(path: &str) -> String {
    format!("{}{path}", receiver().url())
}

// ---- the client -----------------------------------------------------------

/// A client of one worker. Make one per test: a connection pool belongs to
/// the runtime that opened its connections.
#[derive(Clone)]
pub struct TestClient {
    pub base: String,
    http: reqwest::Client,
}

/// A client of the shared worker.
pub fn client() -> TestClient {
    TestClient::new(&shared().base)
}

impl TestClient {
    pub fn new(base: &str) -> TestClient {
        let http = reqwest::Client::builder()
            // Redirects are answers under test, never followed.
            .redirect(reqwest::redirect::Policy::none())
            // A fresh connection per request: the runtime closes a
            // connection whose request body the worker did not read (a 401
            // before the body, say), and Miniflare closes idle ones after
            // 5 s; a request sent on one just as it closes would fail.
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client");
        TestClient {
            base: base.to_string(),
            http,
        }
    }

    pub fn of(worker: &Worker) -> TestClient {
        TestClient::new(&worker.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The underlying HTTP client, for requests the helpers do not cover.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request to `path` on this worker, without credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::POST, path)
    }

    // ---- the channel API

    /// An admin request; the status and the JSON answer (`Null` when empty).
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.request(method, path).bearer_auth(ADMIN);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        read_json(rb.send().await.expect("an answer")).await
    }

    /// Creates a channel; the whole entity.
    pub async fn create_channel(&self, body: Value) -> Value {
        let (status, v) = self.admin(Method::POST, API, Some(body)).await;
        assert_eq!(status, 200, "{v}");
        v
    }

    /// A sync public channel whose process is the engine's `behavior`, with
    /// `extra_opts` merged into its `opts`.
    pub async fn sync_channel(&self, behavior: &str, extra_opts: Value) -> Value {
        let mut opts = json!({"title": "t", "issync": true});
        for (k, v) in extra_opts.as_object().expect("opts are an object") {
            opts[k] = v.clone();
        }
        self.create_channel(json!({
            "code": crate::unique(behavior),
            "recv_svcscriptcode": process_url(behavior),
            "opts": opts,
        }))
        .await
    }

    /// An eventing channel, with `opts` as given.
    pub async fn eventing_channel(&self, opts: Value) -> Value {
        self.create_channel(json!({"code": crate::unique("ev"), "type": "eventing", "opts": opts}))
            .await
    }

    /// A channel delivering outbound callbacks to the receiver's `path`.
    pub async fn callback_channel(&self, path: &str, callback: Value) -> Value {
        self.create_channel(json!({
            "code": crate::unique("out"), "url": receiver_url(path),
            "opts": {"callback": callback},
        }))
        .await
    }

    /// `LOOKUP` through `X-HTTP-Method-Override`, with this raw body.
    pub async fn lookup(&self, body: &str) -> (StatusCode, Value) {
        let resp = self
            .post(API)
            .bearer_auth(ADMIN)
            .header("x-http-method-override", "LOOKUP")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        read_json(resp).await
    }

    /// The channel's inbound request log (newest first, at most 500),
    /// waiting until it holds `at_least` records.
    pub async fn requests(&self, channel: &Value, at_least: usize) -> Vec<Value> {
        assert!(at_least <= 500, "a page holds at most 500 records");
        let path = format!("{API}/{}/requests?limit=500", id_of(channel));
        let start = Instant::now();
        loop {
            let (status, v) = self.admin(Method::GET, &path, None).await;
            assert_eq!(status, 200, "{v}");
            let list = v.as_array().expect("a list").clone();
            if list.len() >= at_least || start.elapsed() > PATIENCE {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // ---- webhooks

    /// The channel's webhook URL.
    pub fn hook(&self, channel: &Value) -> String {
        self.url(&format!("/api/token/v1/{}", token_of(channel)))
    }

    // ---- the Sync API

    /// A signed Sync API call.
    pub async fn sync_call(&self, login: &str, secret: &str, body: &Value) -> (u16, Value) {
        sync_call(&self.http, &self.base, login, secret, body).await
    }

    /// A signed Sync API call as [`LOGIN`].
    pub async fn call(&self, body: &Value) -> (u16, Value) {
        self.sync_call(LOGIN, SECRET, body).await
    }

    /// Signs the raw `body` as [`LOGIN`] and posts it.
    pub async fn raw_call(&self, body: &str) -> (u16, Value) {
        let url = sync_url(&self.base, LOGIN, SECRET, body.as_bytes());
        post_raw(&self.http, &url, body.as_bytes().to_vec()).await
    }

    /// The `show` op's answer for `request_id`, asked as `login`.
    pub async fn show(&self, login: &str, secret: &str, request_id: &str) -> Value {
        let body = json!({"ops": [{"type": "show", "obj": "result", "request_id": request_id}]});
        let (status, v) = self.sync_call(login, secret, &body).await;
        assert_eq!(status, 200, "{v}");
        v["ops"][0].clone()
    }

    // ---- outbound callbacks

    /// `POST …/{id}/send` with the admin token (and an `Idempotency-Key`).
    pub async fn send(
        &self,
        channel: &Value,
        variables: Value,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .post(&format!("{API}/{}/send", id_of(channel)))
            .bearer_auth(ADMIN)
            .json(&json!({"variables": variables}));
        if let Some(k) = idempotency_key {
            rb = rb.header("idempotency-key", k);
        }
        read_json(rb.send().await.unwrap()).await
    }

    /// Sends and returns the new delivery's id.
    pub async fn send_ok(&self, channel: &Value, variables: Value) -> String {
        let (status, v) = self.send(channel, variables, None).await;
        assert_eq!(status, 202, "{v}");
        v["delivery_id"].as_str().unwrap().to_string()
    }

    /// Polls a delivery until `done` says so (or [`PATIENCE`] runs out).
    pub async fn delivery(
        &self,
        channel: &Value,
        id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let path = format!("{API}/{}/deliveries/{id}", id_of(channel));
        let start = Instant::now();
        loop {
            let (status, v) = self.admin(Method::GET, &path, None).await;
            assert_eq!(status, 200, "{v}");
            if done(&v) || start.elapsed() > PATIENCE {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The channel's delivery log, newest first.
    pub async fn deliveries(&self, channel: &Value) -> Value {
        let path = format!("{API}/{}/deliveries", id_of(channel));
        let (status, v) = self.admin(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{v}");
        v
    }

    // ---- eventing

    /// Publishes an event with the admin token.
    pub async fn publish(&self, channel: &Value, kind: &str, data: Value) -> (StatusCode, Value) {
        let resp = self
            .post(&format!("{API}/{}/events", id_of(channel)))
            .bearer_auth(ADMIN)
            .json(&json!({"type": kind, "data": data}))
            .send()
            .await
            .unwrap();
        read_json(resp).await
    }

    /// A WebSocket on `path` of this worker.
    pub async fn websocket(&self, path: &str) -> Ws {
        let url = format!("{}{path}", self.base.replace("http://", "ws://"));
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket upgrade");
        ws
    }

    /// A subscriber's WebSocket on an eventing channel (`query` with its `?`).
    pub async fn subscribe(&self, channel: &Value, query: &str) -> Ws {
        self.websocket(&format!(
            "/ws/token/v1/{}/subscribe{query}",
            token_of(channel)
        ))
        .await
    }

    /// An inbound WebSocket on a public channel.
    pub async fn inbound(&self, channel: &Value) -> Ws {
        self.websocket(&format!("/ws/token/v1/{}", token_of(channel)))
            .await
    }
}

/// A channel entity's `id`.
pub fn id_of(channel: &Value) -> &str {
    channel["id"].as_str().expect("a channel id")
}

/// A channel entity's `token_local`.
pub fn token_of(channel: &Value) -> &str {
    channel["token_local"].as_str().expect("a channel token")
}

/// An answer's status and JSON body (`Null` when empty; panics with the
/// text when it is not JSON).
pub async fn read_json(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("an answer body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"))
    };
    (status, v)
}

// ---- error shapes ---------------------------------------------------------

/// Asserts a channel-API error: status `want`, `error_code` 1000 + `want`
/// and a non-empty `error_message`, which it returns.
#[track_caller]
pub fn assert_rest_error(status: StatusCode, body: &Value, want: u16) -> String {
    assert_eq!(status.as_u16(), want, "{body}");
    assert_eq!(body["error_code"], 1000 + u64::from(want), "{body}");
    let message = body["error_message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{body}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only error_code and error_message: {body}"
    );
    message.to_string()
}

/// Reads `resp` and asserts it is a channel-API error with status `want`
/// whose message holds every one of `needles`; returns the message.
pub async fn assert_rest_answer(resp: reqwest::Response, want: u16, needles: &[&str]) -> String {
    let (status, body) = read_json(resp).await;
    let message = assert_rest_error(status, &body, want);
    for needle in needles {
        assert!(
            message.contains(needle),
            "message {message:?} should contain {needle:?}"
        );
    }
    message
}

/// Asserts a Sync API request-level error: status, `request_proc` and a
/// non-empty `description`, which it returns.
#[track_caller]
pub fn assert_sync_error(status: u16, body: &Value, want: u16, request_proc: &str) -> String {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["request_proc"], request_proc, "{body}");
    let description = body["description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{body}");
    description.to_string()
}

/// Asserts the other routes' error shape `{"proc":"error","code",…,"description"}`.
#[track_caller]
pub fn assert_plugin_error(status: u16, body: &Value, want: u16, code: &str) -> String {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["proc"], "error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    let description = body["description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{body}");
    description.to_string()
}

// ---- waiting on peers ------------------------------------------------------

/// Waits until the engine has had `n` answers to callbacks sent to `url`.
pub async fn callback_answers(url: &str, n: usize) -> Vec<CallbackAnswer> {
    let start = Instant::now();
    loop {
        let got = engine().callback_answers(url);
        if got.len() >= n || start.elapsed() > PATIENCE {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `__callback_url` of the one task tagged `tag` the engine will have
/// received, waiting for it up to [`PATIENCE`] (a caller that gave up early
/// does not stop the gateway from handing the task over, but on a loaded
/// machine the hand-over can come after the caller gave up).
pub async fn callback_url_of_task(tag: &str) -> String {
    let start = Instant::now();
    while engine().received_with_tag(tag).is_empty() && start.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    callback_url_of(tag)
}

/// The `__callback_url` of the one task tagged `tag` the engine received.
pub fn callback_url_of(tag: &str) -> String {
    let got = engine().received_with_tag(tag);
    assert_eq!(got.len(), 1, "engine saw {} tasks tagged {tag}", got.len());
    got[0].task["data"]["__callback_url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits for the engine's HTTP process to receive an event carrying `marker`.
pub async fn event_with(marker: &str) -> ProcessEvent {
    let start = Instant::now();
    loop {
        if let Some(e) = engine().events_with(marker).pop() {
            return e;
        }
        assert!(start.elapsed() < PATIENCE, "no event with {marker}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- outbound deliveries ----------------------------------------------------

/// A retry policy that retries every second, at most `max_attempts` times.
pub fn fast(max_attempts: u32) -> Value {
    json!({"schedule": "interval", "interval_s": 1, "max_attempts": max_attempts})
}

/// True once a delivery has left `pending`.
pub fn finished(delivery: &Value) -> bool {
    delivery["state"] != "pending"
}

/// The statuses of a delivery's attempts, in order.
pub fn statuses(delivery: &Value) -> Vec<Value> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect()
}

// ---- WebSockets -----------------------------------------------------------

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text message, within [`PATIENCE`].
pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a message");
        if let Message::Text(t) = msg {
            return t.to_string();
        }
    }
}

/// The next text message, as JSON.
pub async fn next_json(ws: &mut Ws) -> Value {
    serde_json::from_str(&next_text(ws).await).expect("a JSON message")
}

/// How the server closed the socket (its close code), within [`PATIENCE`].
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

// ---- storage ----------------------------------------------------------------

/// Every SQLite file under `dir` (workerd's D1 and Durable Object files),
/// but Miniflare's `metadata.sqlite`.
pub fn sqlite_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|e| e == "sqlite")
                && p.file_name().is_some_and(|n| n != "metadata.sqlite")
            {
                out.push(p);
            }
        }
    }
    out
}

/// Rows of `sql` over every SQLite file under `dir` that has the table it
/// reads (workerd's Durable Object and D1 files), read-only; the first column
/// as text.
pub fn query_sqlite_files(dir: &Path, sql: &str) -> Vec<String> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let mut rows = Vec::new();
    for p in sqlite_files(dir) {
        let Ok(db) = rusqlite::Connection::open_with_flags(&p, flags) else {
            continue;
        };
        let found: Vec<String> = match db.prepare(sql) {
            Ok(mut st) => st
                .query_map([], |r| r.get::<_, String>(0))
                .map(|it| it.flatten().collect())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        rows.extend(found);
    }
    rows
}

/// Runs `sql` on every SQLite file under `dir` that has what it names,
/// read-write: for a test that puts a stopped runtime's stored state into a
/// shape the API cannot make. How many rows it changed, over all files.
pub fn execute_sqlite_files(dir: &Path, sql: &str) -> usize {
    sqlite_files(dir)
        .iter()
        .filter_map(|p| rusqlite::Connection::open(p).ok())
        .map(|db| db.execute(sql, []).unwrap_or(0))
        .sum()
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
