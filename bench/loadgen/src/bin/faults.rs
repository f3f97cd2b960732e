//! Fault experiments, end to end against the real worker under workerd, all
//! on loopback, each bounded in count and time (`make faults`):
//!
//! 1. **kill**: hundreds of callers parked, then workerd SIGKILLed; the
//!    worker restarts on the same persisted state (Durable Objects and D1),
//!    every callback that arrives after the restart must be stored and
//!    fetchable with the Sync API's `show` op, with its own data.
//! 2. **flap**: the engine refusing connections, then slow, then back,
//!    under a steady stream of Sync API calls: every op must be answered
//!    (none hangs past its timeout), none with another caller's data, and
//!    calls succeed again once the engine is back.
//! 3. **consumer**: deliveries to a receiver that fails or hangs on the
//!    first attempt of some of them, and workerd SIGKILLed while batches
//!    are in flight: every delivery must reach the receiver at least once
//!    and be recorded delivered exactly once.
//!
//! ```text
//! cargo run --release -p syncbridge-bench --bin faults -- [--only kill|flap|consumer]
//!     [--parked 300] [--phase-s 15] [--deliveries 300]
//! ```
//! Exits 1 when an experiment's check fails. The figures are appended to
//! bench/out/faults.md.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use syncbridge_bench::{machine, report, rss_kib, sigkill, wait_until, workerd_of};
use syncbridge_tests::client::sync_url;
use syncbridge_tests::harness::{
    self, engine, id_of, shared_settings, start_worker_opts, state_dir, stop_worker, TestClient,
    LOGIN, SECRET,
};
use syncbridge_tests::unique;
use tokio::net::{TcpListener, TcpStream};

struct Args {
    only: Option<String>,
    parked: usize,
    phase_s: u64,
    deliveries: usize,
}

fn args() -> Args {
    let mut a = Args {
        only: None,
        parked: 300,
        phase_s: 15,
        deliveries: 300,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--only" => a.only = Some(value()),
            "--parked" => a.parked = value().parse().expect("--parked N"),
            "--phase-s" => a.phase_s = value().parse().expect("--phase-s S"),
            "--deliveries" => a.deliveries = value().parse().expect("--deliveries N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a.parked = a.parked.clamp(1, 2000);
    a.phase_s = a.phase_s.clamp(3, 120);
    a.deliveries = a.deliveries.clamp(1, 3000);
    a
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// A signed Sync API call as [`LOGIN`]: the status and JSON answer, or
/// None when no answer came (this binary runs with `panic = "abort"`, so
/// it never uses the test client's panicking helpers on a fault's path).
async fn call(client: &reqwest::Client, base: &str, body: &Value) -> Option<(u16, Value)> {
    let text = body.to_string();
    let url = sync_url(base, LOGIN, SECRET, text.as_bytes());
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.unwrap_or(Value::Null)))
}

/// The `show` op's answer for `request_id`, asked as [`LOGIN`].
async fn show(client: &reqwest::Client, base: &str, request_id: &str) -> Value {
    let body = json!({"ops": [{"type": "show", "obj": "result", "request_id": request_id}]});
    match call(client, base, &body).await {
        Some((200, v)) => v["ops"][0].clone(),
        other => json!({"show_failed": format!("{other:?}")}),
    }
}

/// Keeps a worker's log lines in bench/out/faults-{name}.log.
fn keep_logs(name: &str, w: &syncbridge_tests::worker::Worker) {
    let dir = syncbridge_tests::worker::repo_root().join("bench/out");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("faults-{name}.log")), w.logs().join("\n"));
}

/// The request id at the end of a `__callback_url`.
fn request_id_of(callback_url: &str) -> String {
    callback_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

// ---- 1. the runtime killed with callers parked -----------------------------

async fn kill(n: usize) -> bool {
    let dir = state_dir("faults-kill");
    let vars = shared_settings();
    let w1 = start_worker_opts(vars.clone(), Some(&dir), None).await;
    let base1 = w1.base.clone();
    let tag = unique("kill");
    let started = Instant::now();
    let client = http();
    let callers: Vec<_> = (0..n)
        .map(|i| {
            let (client, base, tag) = (client.clone(), base1.clone(), tag.clone());
            tokio::spawn(async move {
                let body = json!({"timeout": 600, "ops": [{"type": "create", "obj": "task", "conv_id": 1,
                    "data": {"tag": tag, "n": i, "sim": {"mode": "silent"}}}]});
                tokio::time::timeout(Duration::from_secs(60), call(&client, &base, &body)).await
            })
        })
        .collect();
    let all_parked = wait_until(Duration::from_secs(120), Duration::from_millis(20), || {
        engine().received_with_tag(&tag).len() >= n
    })
    .await;
    let parked_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = workerd_of(&w1).expect("the worker's workerd");
    let rss_before = rss_kib(pid).unwrap_or(0);
    let killed = sigkill(pid);
    let killed_at = Instant::now();
    // The callers' connections die with the runtime: none gets an answer.
    let mut answered = 0;
    let mut cut = 0;
    for c in callers {
        match c.await {
            Ok(Ok(Some(_))) => answered += 1,
            _ => cut += 1,
        }
    }
    keep_logs("kill-before", &w1);
    stop_worker(w1).await;
    let w2 = start_worker_opts(vars, Some(&dir), None).await;
    let restart_s = killed_at.elapsed().as_secs_f64();
    let c2 = TestClient::of(&w2);
    // Every parked request's callback now arrives, at the restarted worker.
    let tasks = engine().received_with_tag(&tag);
    let results: Vec<(u16, Value, Value, u64)> = stream::iter(tasks.iter().cloned())
        .map(|t| {
            let (c2, base) = (c2.clone(), w2.base.clone());
            async move {
                let url = t.task["data"]["__callback_url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let id = request_id_of(&url);
                let n = t.task["data"]["n"].as_u64().unwrap_or(u64::MAX);
                let cb = json!({"echo": {"tag": t.task["data"]["tag"], "n": n}, "conv_id": 1});
                let status = c2
                    .http()
                    .post(format!("{base}/api/1/plugins/callback/{id}"))
                    .json(&cb)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                let second = c2
                    .http()
                    .post(format!("{base}/api/1/plugins/callback/{id}"))
                    .json(&json!({"echo": {"n": "second"}}))
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let second = match second {
                    Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                };
                let shown = show(c2.http(), &base, &id).await;
                (status, shown, second, n)
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let stored = results.iter().filter(|r| r.0 == 200).count();
    let fetched = results
        .iter()
        .filter(|(_, shown, _, n)| shown["proc"] == "ok" && shown["data"]["echo"]["n"] == *n)
        .count();
    let mixed = results
        .iter()
        .filter(|(_, shown, _, n)| shown["proc"] == "ok" && shown["data"]["echo"]["n"] != *n)
        .count();
    let duplicates_refused = results.iter().filter(|r| r.2["duplicate"] == true).count();
    let rss_after = workerd_of(&w2).and_then(rss_kib).unwrap_or(0);
    keep_logs("kill-after", &w2);
    stop_worker(w2).await;
    let _ = std::fs::remove_dir_all(&dir);
    let ok = all_parked && killed && tasks.len() == n && stored == n && fetched == n && mixed == 0;
    report(
        "faults.md",
        &format!(
            "\n## 1. workerd SIGKILLed with {n} callers parked ({})\n\n\
             | figure | value |\n| --- | ---: |\n\
             | callers parked (tasks the engine held) | {} of {n}, after {parked_s:.1} s |\n\
             | workerd RSS before the kill | {} MiB |\n\
             | callers answered before the restart / connections cut | {answered} / {cut} |\n\
             | kill to restarted worker ready | {restart_s:.1} s |\n\
             | callbacks after the restart stored (HTTP 200) | {stored} of {n} |\n\
             | results fetched with `show`, with their own data | {fetched} of {n} |\n\
             | results with another request's data | {mixed} |\n\
             | second callbacks answered `duplicate` | {duplicates_refused} of {n} |\n\
             | workerd RSS after, restarted | {} MiB |\n\
             | **verdict** | {} |\n",
            machine(),
            tasks.len(),
            rss_before / 1024,
            rss_after / 1024,
            if ok { "pass" } else { "**FAIL**" },
        ),
    );
    ok
}

// ---- 2. the engine flapping --------------------------------------------------

const UP: u8 = 0;
const REFUSE: u8 = 1;
const SLOW: u8 = 2;
const PHASES: [&str; 3] = ["up", "refusing", "slow"];

/// A TCP proxy in front of the engine: `up` forwards, `refusing` closes its
/// port (connections are refused, open ones cut), `slow` holds each chunk
/// sent to the engine for `slow_ms` first.
struct Flapper {
    port: u16,
    phase: Arc<AtomicU8>,
    engine: std::net::SocketAddr,
    slow_ms: u64,
    server: Option<tokio::task::JoinHandle<()>>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Flapper {
    async fn start(engine: std::net::SocketAddr, slow_ms: u64) -> Flapper {
        let port = syncbridge_tests::worker::free_port();
        let mut f = Flapper {
            port,
            phase: Arc::new(AtomicU8::new(UP)),
            engine,
            slow_ms,
            server: None,
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        f.listen().await;
        f
    }

    async fn listen(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("rebind the flapper's port: {e}"),
            }
        };
        let (phase, engine, slow_ms, conns) = (
            self.phase.clone(),
            self.engine,
            self.slow_ms,
            self.conns.clone(),
        );
        self.server = Some(tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let phase = phase.clone();
                let task = tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(engine).await else {
                        return;
                    };
                    let (mut ri, mut wi) = inbound.into_split();
                    let (mut ro, mut wo) = outbound.into_split();
                    let up = async {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = vec![0u8; 16384];
                        loop {
                            let n = match ri.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if phase.load(Ordering::Relaxed) == SLOW {
                                tokio::time::sleep(Duration::from_millis(slow_ms)).await;
                            }
                            if wo.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = wo.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut ro, &mut wi).await;
                        use tokio::io::AsyncWriteExt;
                        let _ = wi.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
                conns.lock().unwrap().push(task.abort_handle());
            }
        }));
    }

    async fn set(&mut self, phase: u8) {
        let was = self.phase.swap(phase, Ordering::Relaxed);
        if phase == REFUSE && was != REFUSE {
            if let Some(s) = self.server.take() {
                s.abort();
                let _ = s.await;
            }
            for c in self.conns.lock().unwrap().drain(..) {
                c.abort();
            }
        } else if phase != REFUSE && was == REFUSE {
            self.listen().await;
        }
    }
}

#[derive(Default, Clone)]
struct Tally {
    sent: u64,
    ok: u64,
    op_error: u64,
    op_timeout: u64,
    other_status: u64,
    wrong: u64,
    unanswered: u64,
    max_ms: u64,
    /// Distinct op error descriptions (at most 3).
    errors: Vec<String>,
}

async fn flap(phase_s: u64) -> bool {
    const TIMEOUT_S: u64 = 4;
    const CALLERS: usize = 10;
    let mut flapper = Flapper::start(engine().addr, 8_000).await;
    let mut vars = shared_settings();
    vars["COREZOID_API_URL"] = json!(format!("http://127.0.0.1:{}", flapper.port));
    let w = start_worker_opts(vars, None, None).await;
    let base = w.base.clone();
    let phase = flapper.phase.clone();
    let tallies: Arc<Mutex<HashMap<&'static str, Tally>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tag = unique("flap");
    let callers: Vec<_> = (0..CALLERS)
        .map(|k| {
            let (base, phase, tallies, stop, tag) =
                (base.clone(), phase.clone(), tallies.clone(), stop.clone(), tag.clone());
            tokio::spawn(async move {
                let client = http();
                let mut i = 0u64;
                // Bounded: at most 100,000 calls per caller.
                while !stop.load(Ordering::Relaxed) && i < 100_000 {
                    i += 1;
                    let n = format!("{k}-{i}");
                    let name = PHASES[phase.load(Ordering::Relaxed) as usize];
                    let body = json!({"timeout": TIMEOUT_S, "ops": [{"type": "create", "obj": "task",
                        "conv_id": 1, "data": {"tag": tag, "n": n}}]});
                    let t0 = Instant::now();
                    let answer = tokio::time::timeout(
                        Duration::from_secs(TIMEOUT_S + 20),
                        call(&client, &base, &body),
                    )
                    .await
                    .ok()
                    .flatten();
                    let ms = t0.elapsed().as_millis() as u64;
                    let mut g = tallies.lock().unwrap();
                    let t = g.entry(name).or_default();
                    t.sent += 1;
                    t.max_ms = t.max_ms.max(ms);
                    match answer {
                        None => t.unanswered += 1,
                        Some((200, v)) => {
                            let op = &v["ops"][0];
                            if op["proc"] == "ok" && op["data"]["echo"]["n"] == n.as_str() {
                                t.ok += 1;
                            } else if op["proc"] == "ok" {
                                t.wrong += 1;
                            } else if op["description"]
                                .as_str()
                                .is_some_and(|d| d.contains("Timeout"))
                            {
                                t.op_timeout += 1;
                            } else {
                                t.op_error += 1;
                                let d = op["description"].as_str().unwrap_or_default().to_owned();
                                if t.errors.len() < 3 && !t.errors.contains(&d) {
                                    t.errors.push(d);
                                }
                            }
                        }
                        Some(_) => t.other_status += 1,
                    }
                }
            })
        })
        .collect();
    let schedule = [
        (UP, phase_s),
        (REFUSE, phase_s),
        (SLOW, phase_s),
        (UP, phase_s),
    ];
    let mut back_ok_after = None;
    for (i, (p, secs)) in schedule.iter().enumerate() {
        flapper.set(*p).await;
        if i == 3 {
            // Back up: how long until calls succeed again.
            let back = Instant::now();
            let before = tallies.lock().unwrap().get("up").map_or(0, |t| t.ok);
            wait_until(
                Duration::from_secs(*secs),
                Duration::from_millis(50),
                || tallies.lock().unwrap().get("up").map_or(0, |t| t.ok) > before,
            )
            .await;
            back_ok_after = Some(back.elapsed().as_secs_f64());
            tokio::time::sleep(Duration::from_secs(*secs).saturating_sub(back.elapsed())).await;
        } else {
            tokio::time::sleep(Duration::from_secs(*secs)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        let _ = c.await;
    }
    keep_logs("flap", &w);
    stop_worker(w).await;
    let g = tallies.lock().unwrap().clone();
    let mut rows = String::new();
    let mut ok = true;
    for name in ["up", "refusing", "slow"] {
        let t = g.get(name).cloned().unwrap_or_default();
        ok &= t.unanswered == 0 && t.wrong == 0 && t.other_status == 0;
        ok &= t.max_ms <= (TIMEOUT_S + 5) * 1000;
        rows.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
            t.sent,
            t.ok,
            t.op_error,
            t.op_timeout,
            t.other_status,
            t.wrong,
            t.unanswered,
            t.max_ms as f64 / 1000.0
        ));
    }
    let mut errors = String::new();
    for name in ["up", "refusing", "slow"] {
        for e in g.get(name).map(|t| t.errors.clone()).unwrap_or_default() {
            errors.push_str(&format!("- {name}: {e}\n"));
        }
    }
    let up = g.get("up").cloned().unwrap_or_default();
    ok &= up.ok > 0 && back_ok_after.is_some_and(|s| s < phase_s as f64);
    report(
        "faults.md",
        &format!(
            "\n## 2. The engine flapping: up {phase_s} s, refusing {phase_s} s, slow (8 s per request) {phase_s} s, up {phase_s} s ({})\n\n\
             {CALLERS} callers in closed loops, each call one create op with `timeout: {TIMEOUT_S}`; a call \
             gets {} s before it counts as unanswered. Rows are by the engine's phase when the call was sent.\n\n\
             | phase | calls | ok (own echo) | op error | op timeout | other HTTP status | wrong data | unanswered | slowest answer (s) |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n{rows}\n\
             Op errors seen:\n\n{errors}\n\
             First good answer after the engine came back: {:.2} s. **Verdict: {}**\n",
            machine(),
            TIMEOUT_S + 20,
            back_ok_after.unwrap_or(f64::NAN),
            if ok { "pass" } else { "FAIL" },
        ),
    );
    ok
}

// ---- 3. the queue consumer failing mid-batch --------------------------------

/// Per delivery key: the statuses the receiver answered, in order.
type Hits = Arc<Mutex<HashMap<u64, Vec<u16>>>>;

/// `POST /d` with `{"k": N}`: N % 3 == 0 is accepted at once; 1 gets 503
/// the first time; 2 is held 6 s the first time (past the gateway's
/// `CALLBACK_TIMEOUT_S`), then accepted. Later attempts are accepted at once.
async fn receive(State(hits): State<Hits>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(k) = v["k"].as_str().and_then(|k| k.parse::<u64>().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    let first = !hits.lock().unwrap().contains_key(&k);
    let status = match k % 3 {
        1 if first => StatusCode::SERVICE_UNAVAILABLE,
        2 if first => {
            hits.lock().unwrap().entry(k).or_default();
            tokio::time::sleep(Duration::from_secs(6)).await;
            StatusCode::OK
        }
        _ => StatusCode::OK,
    };
    hits.lock()
        .unwrap()
        .entry(k)
        .or_default()
        .push(status.as_u16());
    status
}

async fn consumer(m: usize) -> bool {
    let hits: Hits = Arc::default();
    let app = axum::Router::new()
        .route("/d", post(receive))
        .with_state(hits.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/d", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = state_dir("faults-consumer");
    let mut vars = shared_settings();
    vars["CALLBACK_TIMEOUT_S"] = json!("2");
    vars["CALLBACK_SWEEP_GRACE_S"] = json!("2");
    let w1 = start_worker_opts(vars.clone(), Some(&dir), Some(1000)).await;
    let c1 = TestClient::of(&w1);
    let channel = c1
        .create_channel(json!({"code": unique("faults"), "url": receiver, "opts": {"callback": {
            "headers": "Content-Type: application/json", "body": "{\"k\": \"@K\"}",
            "variables": ["K"], "retry": {"schedule": "interval", "interval_s": 1, "max_attempts": 20}}}}))
        .await;
    let started = Instant::now();
    let ids: Vec<Option<(u64, String)>> = stream::iter(0..m as u64)
        .map(|k| {
            let (c1, channel) = (c1.clone(), channel.clone());
            async move {
                let (status, v) = c1.send(&channel, json!({"K": k.to_string()}), None).await;
                (status == 202)
                    .then(|| (k, v["delivery_id"].as_str().unwrap_or_default().to_owned()))
            }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let ids: Vec<(u64, String)> = ids.into_iter().flatten().collect();
    let sent_s = started.elapsed().as_secs_f64();
    // Kill while batches are in flight: some attempts are held by the
    // receiver, some retries are queued.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let reached_before = hits.lock().unwrap().len();
    let pid = workerd_of(&w1).expect("workerd");
    let killed = sigkill(pid);
    let killed_at = Instant::now();
    keep_logs("consumer-before", &w1);
    stop_worker(w1).await;
    let w2 = start_worker_opts(vars, Some(&dir), Some(1000)).await;
    let restart_s = killed_at.elapsed().as_secs_f64();
    let c2 = TestClient::of(&w2);
    let path = |id: &str| format!("{}/{}/deliveries/{id}", harness::API, id_of(&channel));
    // Wait (bounded) until every delivery is recorded delivered.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut records: HashMap<String, Value> = HashMap::new();
    while Instant::now() < deadline {
        let pending: Vec<&(u64, String)> = ids
            .iter()
            .filter(|(_, id)| records.get(id).is_none_or(|r| r["state"] == "pending"))
            .collect();
        if pending.is_empty() {
            break;
        }
        let got: Vec<(String, Value)> = stream::iter(pending)
            .map(|(_, id)| {
                let (c2, p) = (c2.clone(), path(id));
                async move {
                    let r = c2
                        .request(Method::GET, &p)
                        .bearer_auth(harness::ADMIN)
                        .send()
                        .await;
                    let v = match r {
                        Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                        Err(_) => Value::Null,
                    };
                    (id.clone(), v)
                }
            })
            .buffer_unordered(20)
            .collect()
            .await;
        records.extend(got);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let all_done_s = killed_at.elapsed().as_secs_f64();
    keep_logs("consumer-after", &w2);
    stop_worker(w2).await;
    let _ = std::fs::remove_dir_all(&dir);
    let h = hits.lock().unwrap().clone();
    let mut delivered_once = 0;
    let mut not_delivered = 0;
    let mut recorded_twice = 0;
    let mut reached = 0;
    let mut reached_twice = 0;
    let mut attempts = 0;
    for (k, id) in &ids {
        let r = records.get(id).cloned().unwrap_or(Value::Null);
        let successes = r["attempts"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|a| a["status"] == 200).count());
        attempts += r["attempts"].as_array().map_or(0, Vec::len);
        match (r["state"].as_str(), successes) {
            (Some("delivered"), 1) => delivered_once += 1,
            (Some("delivered"), _) => recorded_twice += 1,
            _ => not_delivered += 1,
        }
        let oks = h
            .get(k)
            .map_or(0, |s| s.iter().filter(|&&s| s == 200).count());
        if oks >= 1 {
            reached += 1;
        }
        if oks > 1 {
            reached_twice += 1;
        }
    }
    let n = ids.len();
    let ok = killed && n == m && delivered_once == n && reached == n && recorded_twice == 0;
    report(
        "faults.md",
        &format!(
            "\n## 3. The queue consumer failing mid-batch: {m} deliveries, workerd SIGKILLed 1.5 s after the last send ({})\n\n\
             The receiver accepts a third of the deliveries at once, answers 503 to the first attempt of a \
             third, and holds the first attempt of the last third for 6 s (past `CALLBACK_TIMEOUT_S=2`). \
             Retries every 1 s, at most 20 attempts; the cron (the sweeper) fires every second; storage persisted.\n\n\
             | figure | value |\n| --- | ---: |\n\
             | deliveries accepted (202) | {n} of {m}, in {sent_s:.1} s |\n\
             | deliveries that had reached the receiver when workerd was killed | {reached_before} |\n\
             | kill to restarted worker ready | {restart_s:.1} s |\n\
             | kill to every delivery recorded | {all_done_s:.1} s |\n\
             | recorded delivered, with exactly one successful attempt | {delivered_once} of {n} |\n\
             | recorded delivered with more than one successful attempt | {recorded_twice} |\n\
             | not delivered (pending, failed or dead) | {not_delivered} |\n\
             | reached the receiver (a 200 answer) at least once | {reached} of {n} |\n\
             | reached it more than once (at-least-once redelivery) | {reached_twice} |\n\
             | attempts recorded in all | {attempts} |\n\
             | **verdict** | {} |\n",
            machine(),
            if ok { "pass" } else { "**FAIL**" },
        ),
    );
    ok
}

#[tokio::main]
async fn main() {
    let a = args();
    let t0 = Instant::now();
    report(
        "faults.md",
        &format!(
            "\n# faults, {}\n\nCommand: `{}`\n",
            std::process::Command::new("date")
                .arg("-u")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default(),
            std::env::args().collect::<Vec<_>>().join(" ")
        ),
    );
    let want = |name: &str| a.only.as_deref().is_none_or(|o| o == name);
    let mut ok = true;
    if want("kill") {
        ok &= kill(a.parked).await;
    }
    if want("flap") {
        ok &= flap(a.phase_s).await;
    }
    if want("consumer") {
        ok &= consumer(a.deliveries).await;
    }
    report(
        "faults.md",
        &format!("\nAll experiments: {:.0} s.\n", t0.elapsed().as_secs_f64()),
    );
    std::process::exit(if ok { 0 } else { 1 });
}
