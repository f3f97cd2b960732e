//! A simulated process engine on loopback that speaks Corezoid's API.
//!
//! It takes `POST /api/2/json/{login}/{unixtime}/{signature}`, checks the
//! signature with its own copy of the key, records the task, answers like
//! Corezoid and, as a process would, calls the task's `__callback_url`.
//! How it behaves is chosen per task by `data.sim`:
//!
//! | `sim.mode`       | behaviour                                                      |
//! |------------------|----------------------------------------------------------------|
//! | absent, `reply`  | create the task, then call back at once                        |
//! | `callback_first` | call back, wait for the gateway's answer, then reply to create |
//! | `late`           | create the task, call back after `sim.delay_ms`                |
//! | `duplicate`      | create, call back twice (the second with other data)           |
//! | `silent`         | create the task and never call back                            |
//! | `refuse`         | refuse the task (`proc: error`)                                |
//! | `http500`        | answer HTTP 500                                                 |
//! | `non_json`       | answer 200 with an HTML page                                    |
//! | `slow`           | wait `sim.delay_ms` before creating the task; no callback      |
//! | `barrier`        | create; call back `sim.delay_ms` after `sim.count` tasks of the same `data.tag` have arrived (so ops sent one after another never get theirs) |
//!
//! The callback body is `{"echo": data without __callback_url and sim,
//! "conv_id": …, "ref": …, "id": …}`, so a caller can check it got exactly
//! its own result.

use crate::client::corezoid_signature;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A task as the engine received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub login: String,
    pub signature_ok: bool,
    pub unixtime: u64,
    pub task: Value,
    /// When the engine received it.
    pub at: std::time::Instant,
}

/// The gateway's answer to one of the engine's callbacks.
#[derive(Debug, Clone)]
pub struct CallbackAnswer {
    pub url: String,
    pub status: u16,
    pub body: Value,
    /// When the engine sent the callback (before the gateway could store it).
    pub sent_at: std::time::Instant,
}

/// An event a simulated HTTP process received (a webhook the gateway forwarded).
#[derive(Debug, Clone)]
pub struct ProcessEvent {
    pub behavior: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub event: Value,
}

#[derive(Default)]
pub struct Log {
    pub received: Vec<Received>,
    pub callbacks: Vec<CallbackAnswer>,
    pub events: Vec<ProcessEvent>,
}

pub struct EngineState {
    secrets: HashMap<String, String>,
    http: reqwest::Client,
    pub log: Mutex<Log>,
}

#[derive(Clone)]
pub struct Engine {
    pub addr: SocketAddr,
    pub state: Arc<EngineState>,
}

impl Engine {
    /// Starts on `127.0.0.1:port` (0 for any) on the current Tokio runtime.
    pub async fn start(port: u16, secrets: HashMap<String, String>) -> Engine {
        let state = Arc::new(EngineState {
            secrets,
            // Idle connections are dropped after 2 s: Miniflare's server
            // closes idle keep-alive connections after 5 s, and a callback
            // sent on one just as it closes would fail.
            http: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .expect("engine http client"),
            log: Mutex::new(Log::default()),
        });
        let app = Router::new()
            .route("/api/2/json/{login}/{unixtime}/{signature}", post(create))
            .route("/process/{behavior}", post(process))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the simulated engine");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("engine server");
        });
        Engine { addr, state }
    }

    /// Starts on a Tokio runtime of its own that lives as long as the
    /// process, so it outlives each test's runtime (for shared fixtures).
    pub fn start_background(secrets: HashMap<String, String>) -> Engine {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("engine runtime");
            rt.block_on(async {
                tx.send(Engine::start(0, secrets).await).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("engine started")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Tasks received whose `data.tag` equals `tag`.
    pub fn received_with_tag(&self, tag: &str) -> Vec<Received> {
        let log = self.state.log.lock().unwrap();
        log.received
            .iter()
            .filter(|r| r.task["data"]["tag"] == tag)
            .cloned()
            .collect()
    }

    /// The gateway's answers to callbacks sent to `url`.
    pub fn callback_answers(&self, url: &str) -> Vec<CallbackAnswer> {
        let log = self.state.log.lock().unwrap();
        log.callbacks
            .iter()
            .filter(|c| c.url == url)
            .cloned()
            .collect()
    }

    /// Events received by the HTTP process whose webhook body carries `marker`
    /// anywhere (tests put a unique marker in the URL or body).
    pub fn events_with(&self, marker: &str) -> Vec<ProcessEvent> {
        let log = self.state.log.lock().unwrap();
        log.events
            .iter()
            .filter(|e| String::from_utf8_lossy(&e.body).contains(marker))
            .cloned()
            .collect()
    }

    pub fn bad_signatures(&self) -> usize {
        let log = self.state.log.lock().unwrap();
        log.received.iter().filter(|r| !r.signature_ok).count()
    }
}

fn corezoid(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn accepted(task: &Value) -> Response {
    corezoid(json!({
        "request_proc": "ok",
        "ops": [{"id": task.get("id").cloned().unwrap_or(json!("")), "proc": "ok",
                 "obj": "task", "ref": task.get("ref").cloned().unwrap_or(Value::Null),
                 "obj_id": format!("{:024x}", rand_u64())}]
    }))
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now())
}

fn callback_body(task: &Value, variant: Option<&str>) -> Value {
    let mut echo = task["data"].clone();
    if let Some(m) = echo.as_object_mut() {
        m.remove("__callback_url");
        m.remove("sim");
    }
    let mut body = json!({"echo": echo, "conv_id": task["conv_id"]});
    for key in ["ref", "id"] {
        if let Some(v) = task.get(key) {
            body[key] = v.clone();
        }
    }
    if let Some(v) = variant {
        body["variant"] = json!(v);
    }
    body
}

/// Posts a callback as a process would: a transport failure is retried
/// (up to 3 tries); the gateway's answer, whatever it is, is final.
async fn call_back(state: &EngineState, url: &str, body: &Value) {
    let sent_at = std::time::Instant::now();
    let mut tries = 0;
    let (status, body) = loop {
        tries += 1;
        match state.http.post(url).json(body).send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                break (s, r.json::<Value>().await.unwrap_or(Value::Null));
            }
            Err(e) if tries >= 3 => break (0, json!({"transport_error": e.to_string()})),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    state.log.lock().unwrap().callbacks.push(CallbackAnswer {
        url: url.to_string(),
        status,
        body,
        sent_at,
    });
}

async fn create(
    State(state): State<Arc<EngineState>>,
    Path((login, unixtime, signature)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let signature_ok = state
        .secrets
        .get(&login)
        .is_some_and(|s| corezoid_signature(&unixtime, s, &body) == signature.to_lowercase());
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let task = parsed["ops"][0].clone();
    state.log.lock().unwrap().received.push(Received {
        login,
        signature_ok,
        unixtime: unixtime.parse().unwrap_or(0),
        task: task.clone(),
        at: std::time::Instant::now(),
    });
    if !signature_ok {
        return corezoid(json!({"request_proc": "error", "description": "Wrong signature"}));
    }
    let cb = task["data"]["__callback_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if task["data"]["event"]["type"] == "$webRequest" {
        // A channel's webhook handed to a Corezoid process: answer it as one.
        let answer = json!({"response_code": 200, "response_content": {
            "via": "corezoid", "conv_id": task["conv_id"], "method": task["data"]["method"],
        }});
        let st = state.clone();
        tokio::spawn(async move { call_back(&st, &cb, &answer).await });
        return accepted(&task);
    }
    let sim = &task["data"]["sim"];
    let delay = Duration::from_millis(sim["delay_ms"].as_u64().unwrap_or(0));
    match sim["mode"].as_str().unwrap_or("reply") {
        "refuse" => corezoid(json!({
            "request_proc": "ok",
            "ops": [{"proc": "error", "obj": "task", "description": "Process is not active"}]
        })),
        "http500" => (StatusCode::INTERNAL_SERVER_ERROR, "engine exploded").into_response(),
        "non_json" => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        "silent" => accepted(&task),
        "slow" => {
            tokio::time::sleep(delay).await;
            accepted(&task)
        }
        "callback_first" => {
            call_back(&state, &cb, &callback_body(&task, None)).await;
            accepted(&task)
        }
        "barrier" => {
            let st = state.clone();
            let t = task.clone();
            let count = sim["count"].as_u64().unwrap_or(1) as usize;
            tokio::spawn(async move {
                // Bounded: a gateway that never sends the others gets no callback.
                let give_up = std::time::Instant::now() + Duration::from_secs(60);
                while std::time::Instant::now() < give_up {
                    let arrived = {
                        let log = st.log.lock().unwrap();
                        log.received
                            .iter()
                            .filter(|r| r.task["data"]["tag"] == t["data"]["tag"])
                            .count()
                    };
                    if arrived >= count {
                        tokio::time::sleep(delay).await;
                        call_back(&st, &cb, &callback_body(&t, None)).await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
            accepted(&task)
        }
        "duplicate" => {
            let st = state.clone();
            let t = task.clone();
            tokio::spawn(async move {
                call_back(&st, &cb, &callback_body(&t, None)).await;
                call_back(&st, &cb, &callback_body(&t, Some("second"))).await;
            });
            accepted(&task)
        }
        _ => {
            let st = state.clone();
            let t = task.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                call_back(&st, &cb, &callback_body(&t, None)).await;
            });
            accepted(&task)
        }
    }
}

/// A plain HTTP process behind a channel (`recv_svcscriptcode` =
/// `{engine}/process/{behavior}`). It takes the event with 200 and, as a
/// process would, answers through `__callback_url`:
///
/// | behavior | callback                                                                   |
/// |----------|-----------------------------------------------------------------------------|
/// | `echo`   | 201, JSON `{method, path, query, cookies, body, body_encoding, async}`, header `x-process: echo` |
/// | `text`   | 200, `"plain answer"` as `text/plain; charset=utf-8`                        |
/// | `bare`   | `response_code` from the request's `?code=`, no content, no headers       |
/// | `cors`   | 200, `"{}"` with the process's own `Access-Control-Allow-Origin`             |
/// | `p2p`    | a P2P transfer of the JSON body `{from, to, amount}`: 200 `{"result": "ok", "transfer_id": event id, from, to, amount}` for 0 < amount ≤ 10000; 422 `{"result": "declined", "reason": …}` otherwise; none when `to` is `"timeout"` |
/// | `big`    | 200, `"0123456789"` repeated 300 times (3000 bytes) as `text/plain`          |
/// | `framing`| 200, `"framed by the runtime"` with its own invalid `Content-Length`, `Transfer-Encoding` and `Connection` headers |
/// | `silent` | none                                                                        |
/// | `broken` | none; the event is refused with HTTP 500                                    |
/// | `wsecho` | an inbound WebSocket message: replies `echo:{message}` then `done:{message}` on its connection |
async fn process(
    State(state): State<Arc<EngineState>>,
    Path(behavior): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let hs = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    state.log.lock().unwrap().events.push(ProcessEvent {
        behavior: behavior.clone(),
        headers: hs,
        body: body.to_vec(),
        event: event.clone(),
    });
    let cb = event["__callback_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let answer = match behavior.as_str() {
        "echo" => Some(json!({
            "response_code": 201,
            "response_content": {
                "method": event["method"], "path": event["path"], "query": event["query"],
                "cookies": event["cookies"], "body": event["body"],
                "body_encoding": event.get("body_encoding"), "async": event["event"]["async"],
            },
            "response_headers": {"x-process": "echo"},
        })),
        "text" => Some(json!({
            "response_code": 200,
            "response_content": "plain answer",
            "response_headers": {"Content-Type": "text/plain; charset=utf-8"},
        })),
        "bare" => Some(json!({
            "response_code": event["query"]["code"].as_str().and_then(|c| c.parse::<u16>().ok()).unwrap_or(200),
        })),
        "big" => Some(json!({
            "response_code": 200,
            "response_content": "0123456789".repeat(300),
            "response_headers": {"Content-Type": "text/plain"},
        })),
        "framing" => Some(json!({
            "response_code": 200,
            "response_content": "framed by the runtime",
            "response_headers": {
                "Content-Type": "text/plain",
                "Content-Length": {"not": "a length"},
                "Transfer-Encoding": "chunked",
                "Connection": "close",
                "x-kept": "yes",
            },
        })),
        "cors" => Some(json!({
            "response_code": 200,
            "response_content": "{}",
            "response_headers": {"Access-Control-Allow-Origin": "https://process.example"},
        })),
        "p2p" => {
            // The example page's process (examples/frontend): amounts come as
            // numbers or numeric strings; `to: "timeout"` never answers.
            let b = &event["body"];
            let amount = b["amount"]
                .as_f64()
                .or_else(|| b["amount"].as_str().and_then(|a| a.trim().parse().ok()));
            let declined = |reason: &str| {
                json!({"response_code": 422,
                       "response_content": {"result": "declined", "reason": reason}})
            };
            match amount {
                _ if b["to"] == "timeout" => None,
                Some(a) if a > 10000.0 => Some(declined("Amount over the 10000 limit")),
                Some(a) if a > 0.0 => Some(json!({"response_code": 200, "response_content": {
                    "result": "ok", "transfer_id": event["event"]["id"],
                    "from": b["from"], "to": b["to"], "amount": b["amount"],
                }})),
                _ => Some(declined("Amount must be a positive number")),
            }
        }
        "broken" => return (StatusCode::INTERNAL_SERVER_ERROR, "process down").into_response(),
        "wsecho" => {
            // An inbound WebSocket message: answer twice on the connection.
            let msg = event["message"].as_str().unwrap_or_default().to_string();
            let st = state.clone();
            let cb = cb.clone();
            tokio::spawn(async move {
                for reply in [format!("echo:{msg}"), format!("done:{msg}")] {
                    let sent_at = std::time::Instant::now();
                    let r = st.http.post(&cb).body(reply).send().await;
                    let status = r.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                    st.log.lock().unwrap().callbacks.push(CallbackAnswer {
                        url: cb.clone(),
                        status,
                        body: Value::Null,
                        sent_at,
                    });
                }
            });
            None
        }
        _ => None,
    };
    if let Some(a) = answer {
        let st = state.clone();
        tokio::spawn(async move { call_back(&st, &cb, &a).await });
    }
    (StatusCode::OK, "taken").into_response()
}
