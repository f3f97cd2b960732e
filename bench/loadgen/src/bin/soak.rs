//! A soak of mixed traffic at a steady rate against the real worker under
//! workerd, on loopback (`make soak`, `SOAK_S` seconds, default 600):
//! Sync API round trips, sync webhooks, outbound sends and event publishes,
//! each at its own fixed rate (open loop), while one WebSocket subscriber
//! takes every event. Every answer is checked to carry the caller's own data
//! (0 lost, 0 mixed up); every delivery must reach the receiver exactly once
//! and be recorded delivered; every published event must reach the
//! subscriber. workerd's RSS and open files are sampled every 30 s.
//!
//! ```text
//! cargo run --release -p syncbridge-bench --bin soak -- [--duration 600]
//!     [--sync-rps 10] [--webhook-rps 5] [--send-rps 3] [--publish-rps 3]
//! ```
//! Exits 1 when anything was lost or mixed up. Figures: bench/out/soak.md.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use syncbridge_bench::{machine, report, rss_kib, workerd_of};
use syncbridge_tests::client::sync_url;
use syncbridge_tests::harness::{
    self, id_of, shared_settings, start_worker_opts, stop_worker, TestClient, ADMIN, API, LOGIN,
    SECRET,
};
use syncbridge_tests::unique;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    duration_s: u64,
    rates: [(&'static str, f64); 4],
}

fn args() -> Args {
    let mut a = Args {
        duration_s: 600,
        rates: [
            ("sync", 10.0),
            ("webhook", 5.0),
            ("send", 3.0),
            ("publish", 3.0),
        ],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--duration" => a.duration_s = v.parse().expect("--duration S"),
            "--sync-rps" => a.rates[0].1 = v.parse().expect("--sync-rps R"),
            "--webhook-rps" => a.rates[1].1 = v.parse().expect("--webhook-rps R"),
            "--send-rps" => a.rates[2].1 = v.parse().expect("--send-rps R"),
            "--publish-rps" => a.rates[3].1 = v.parse().expect("--publish-rps R"),
            other => panic!("unknown flag {other}"),
        }
    }
    a.duration_s = a.duration_s.clamp(5, 6 * 3600);
    for r in &mut a.rates {
        r.1 = r.1.clamp(0.0, 200.0);
    }
    a
}

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq)]
enum Class {
    /// No answer, or an answer that is not the documented one.
    Failed,
    /// An answer with another request's data.
    Wrong,
    /// The documented timeout: a Sync API op's "Timeout for create task"
    /// (with its request id, to fetch the result later) or a sync
    /// webhook's 504.
    TimedOut(Option<String>),
}

#[derive(Default, Clone)]
struct Tally {
    sent: u64,
    ok: u64,
    wrong: u64,
    failed: u64,
    timed_out: u64,
    skipped: u64,
    ms: Vec<u64>,
    /// Request ids of timed-out Sync API ops.
    late: Vec<String>,
    examples: Vec<String>,
}

impl Tally {
    fn note(&mut self, outcome: Result<u64, (String, Class)>) {
        match outcome {
            Ok(ms) => {
                self.ok += 1;
                self.ms.push(ms);
            }
            Err((e, class)) => {
                match class {
                    Class::Wrong => self.wrong += 1,
                    Class::Failed => self.failed += 1,
                    Class::TimedOut(id) => {
                        self.timed_out += 1;
                        self.late.extend(id);
                    }
                }
                if self.examples.len() < 3 {
                    self.examples.push(e);
                }
            }
        }
    }
}

fn pct(ms: &mut [u64], p: f64) -> f64 {
    if ms.is_empty() {
        return f64::NAN;
    }
    ms.sort_unstable();
    let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
    ms[i] as f64
}

/// The machine's 1-minute load average.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

type Received = Arc<Mutex<HashMap<String, u32>>>;

async fn receive(State(got): State<Received>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match v["k"].as_str() {
        Some(k) => {
            *got.lock().unwrap().entry(k.to_owned()).or_default() += 1;
            StatusCode::OK
        }
        None => StatusCode::BAD_REQUEST,
    }
}

/// One request of `kind` number `i`; Ok(latency ms), or Err((why, class)).
async fn one(kind: &str, i: u64, c: &TestClient, ctx: &Ctx) -> Result<u64, (String, Class)> {
    let t0 = Instant::now();
    let ms = || t0.elapsed().as_millis() as u64;
    let fail = |e: String| (e, Class::Failed);
    match kind {
        "sync" => {
            let n = format!("s-{i}");
            let body =
                json!({"timeout": 20, "ops": [{"type": "create", "obj": "task", "conv_id": 1,
                "data": {"n": n}}]})
                .to_string();
            let url = sync_url(&c.base, LOGIN, SECRET, body.as_bytes());
            let r = c
                .http()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.map_err(|e| fail(e.to_string()))?;
            let op = &v["ops"][0];
            if status == 200 && op["proc"] == "ok" && op["data"]["echo"]["n"] == n.as_str() {
                Ok(ms())
            } else if op["proc"] == "ok" {
                Err((format!("{n} got {}", op["data"]), Class::Wrong))
            } else if status == 200 && op["description"] == "Timeout for create task" {
                let id = op["request_id"].as_str().map(str::to_owned);
                Err((format!("{status} {v}"), Class::TimedOut(id)))
            } else {
                Err(fail(format!("{status} {v}")))
            }
        }
        "webhook" => {
            let n = format!("w-{i}");
            let r = c
                .http()
                .post(format!("{}?i={i}", ctx.hook))
                .json(&json!({"n": n}))
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.map_err(|e| fail(e.to_string()))?;
            if status == 201
                && v["body"]["n"] == n.as_str()
                && v["query"]["i"].as_str() == Some(i.to_string().as_str())
            {
                Ok(ms())
            } else if status == 201 {
                Err((format!("{n} got {v}"), Class::Wrong))
            } else if status == 504 {
                Err((format!("{status} {v}"), Class::TimedOut(None)))
            } else {
                Err(fail(format!("{status} {v}")))
            }
        }
        "send" => {
            let k = format!("d-{i}");
            let r = c
                .http()
                .post(c.url(&format!("{API}/{}/send", ctx.out_id)))
                .bearer_auth(ADMIN)
                .json(&json!({"variables": {"K": k}}))
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.map_err(|e| fail(e.to_string()))?;
            match v["delivery_id"].as_str() {
                Some(id) if status == 202 => {
                    ctx.deliveries.lock().unwrap().push((k, id.to_owned()));
                    Ok(ms())
                }
                _ => Err(fail(format!("{status} {v}"))),
            }
        }
        _ => {
            let n = format!("p-{i}");
            let r = c
                .http()
                .post(c.url(&format!("{API}/{}/events", ctx.ev_id)))
                .bearer_auth(ADMIN)
                .json(&json!({"type": "soak.tick", "data": {"n": n}}))
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.map_err(|e| fail(e.to_string()))?;
            if status == 202 {
                ctx.published.lock().unwrap().push(n);
                Ok(ms())
            } else {
                Err(fail(format!("{status} {v}")))
            }
        }
    }
}

struct Ctx {
    hook: String,
    out_id: String,
    ev_id: String,
    deliveries: Mutex<Vec<(String, String)>>,
    published: Mutex<Vec<String>>,
}

#[tokio::main]
async fn main() {
    let a = args();
    let got: Received = Arc::default();
    let app = axum::Router::new()
        .route("/r", post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/r", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let w = start_worker_opts(shared_settings(), None, Some(10_000)).await;
    let c = TestClient::of(&w);
    let hook_ch = c.sync_channel("echo", json!({})).await;
    let out = c
        .create_channel(json!({"code": unique("soak-out"), "url": receiver, "opts": {"callback": {
            "headers": "Content-Type: application/json", "body": "{\"k\": \"@K\"}", "variables": ["K"],
            "retry": {"schedule": "interval", "interval_s": 1, "max_attempts": 10}}}}))
        .await;
    let ev = c.eventing_channel(json!({})).await;
    let ctx = Arc::new(Ctx {
        hook: c.hook(&hook_ch),
        out_id: id_of(&out).to_owned(),
        ev_id: id_of(&ev).to_owned(),
        deliveries: Mutex::new(Vec::new()),
        published: Mutex::new(Vec::new()),
    });
    // The subscriber: every event, in the order the hub numbered them.
    let mut ws = c.subscribe(&ev, "").await;
    let events: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let ws_closed = Arc::new(AtomicBool::new(false));
    let (ev2, closed2) = (events.clone(), ws_closed.clone());
    let reader = tokio::spawn(async move {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    let id = v["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
                    ev2.lock()
                        .unwrap()
                        .push((id, v["data"]["n"].as_str().unwrap_or("?").to_owned()));
                }
                Ok(Message::Close(_)) | Err(_) => break,
                _ => {}
            }
        }
        closed2.store(true, Ordering::Relaxed);
    });

    let pid = workerd_of(&w).expect("workerd");
    let fds = || std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let mut samples = vec![(0u64, rss_kib(pid).unwrap_or(0), fds(), load())];
    let tallies: Arc<Mutex<HashMap<&'static str, Tally>>> = Arc::default();
    // Answers slower than 2 s: (second of the run they were sent in, ms).
    let slow: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let callbacks_failed = || {
        harness::engine()
            .state
            .log
            .lock()
            .unwrap()
            .callbacks
            .iter()
            .filter(|c| c.status == 0)
            .count()
    };
    let in_flight = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(a.duration_s);
    let mut tickers = Vec::new();
    for (kind, rps) in a.rates {
        if rps <= 0.0 {
            continue;
        }
        let (c, ctx, tallies, in_flight, slow) = (
            c.clone(),
            ctx.clone(),
            tallies.clone(),
            in_flight.clone(),
            slow.clone(),
        );
        tickers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rps));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut i = 0u64;
            let mut tasks = tokio::task::JoinSet::new();
            while Instant::now() < end {
                tick.tick().await;
                i += 1;
                if in_flight.load(Ordering::Relaxed) >= 500 {
                    tallies.lock().unwrap().entry(kind).or_default().skipped += 1;
                    continue;
                }
                in_flight.fetch_add(1, Ordering::Relaxed);
                let (c, ctx, tallies, in_flight) =
                    (c.clone(), ctx.clone(), tallies.clone(), in_flight.clone());
                let slow = slow.clone();
                tasks.spawn(async move {
                    let t0 = Instant::now();
                    let r =
                        tokio::time::timeout(Duration::from_secs(45), one(kind, i, &c, &ctx)).await;
                    let ms = t0.elapsed().as_millis() as u64;
                    if ms > 2000 {
                        let at = t0.duration_since(start).as_secs();
                        slow.lock().unwrap().push((at, ms));
                    }
                    let mut g = tallies.lock().unwrap();
                    let t = g.entry(kind).or_default();
                    t.sent += 1;
                    match r {
                        Ok(r) => t.note(r),
                        Err(_) => t.note(Err(("no answer in 45 s".into(), Class::Failed))),
                    }
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                });
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        }));
    }
    let mut next_sample = 30;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = start.elapsed().as_secs();
        if t >= next_sample {
            samples.push((t, rss_kib(pid).unwrap_or(0), fds(), load()));
            next_sample += 30;
        }
    }
    for t in tickers {
        let _ = t.await;
    }
    let traffic_s = start.elapsed().as_secs_f64();
    samples.push((
        start.elapsed().as_secs(),
        rss_kib(pid).unwrap_or(0),
        fds(),
        load(),
    ));
    // Let the last deliveries and events arrive (bounded).
    let deliveries = ctx.deliveries.lock().unwrap().clone();
    let published = ctx.published.lock().unwrap().clone();
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(120) {
        let delivered = {
            let g = got.lock().unwrap();
            deliveries.iter().filter(|(k, _)| g.contains_key(k)).count()
        };
        if delivered == deliveries.len() && events.lock().unwrap().len() >= published.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A timed-out op's result is still stored when its callback came late:
    // fetch each with `show` (README: "Fetch a result that arrived late").
    let late: Vec<String> = tallies
        .lock()
        .unwrap()
        .get("sync")
        .map(|t| t.late.clone())
        .unwrap_or_default();
    let mut late_found = 0;
    let mut late_examples = Vec::new();
    for id in &late {
        let body =
            json!({"ops": [{"type": "show", "obj": "result", "request_id": id}]}).to_string();
        let url = sync_url(&c.base, LOGIN, SECRET, body.as_bytes());
        let shown = match c
            .http()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null)["ops"][0].clone(),
            Err(_) => Value::Null,
        };
        if shown["proc"] == "ok" && shown["data"]["echo"]["n"].is_string() {
            late_found += 1;
        } else if late_examples.len() < 3 {
            late_examples.push(shown.to_string());
        }
    }
    let engine_callbacks_failed = callbacks_failed();
    // Every delivery recorded delivered, with one successful attempt.
    let records: Vec<Value> = futures::stream::iter(deliveries.clone())
        .map(|(_, id)| {
            let (c, path) = (c.clone(), format!("{API}/{}/deliveries/{id}", ctx.out_id));
            async move {
                match c
                    .request(Method::GET, &path)
                    .bearer_auth(ADMIN)
                    .send()
                    .await
                {
                    Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                }
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let recorded_once = records
        .iter()
        .filter(|r| {
            r["state"] == "delivered"
                && r["attempts"]
                    .as_array()
                    .is_some_and(|a| a.iter().filter(|a| a["status"] == 200).count() == 1)
        })
        .count();
    let (reached_once, reached_twice, missing) = {
        let g = got.lock().unwrap();
        let once = deliveries
            .iter()
            .filter(|(k, _)| g.get(k) == Some(&1))
            .count();
        let twice = deliveries
            .iter()
            .filter(|(k, _)| g.get(k).is_some_and(|&n| n > 1))
            .count();
        let missing = deliveries
            .iter()
            .filter(|(k, _)| !g.contains_key(k))
            .count();
        (once, twice, missing)
    };
    let ev_got = events.lock().unwrap().clone();
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for (_, n) in &ev_got {
        *seen.entry(n.as_str()).or_default() += 1;
    }
    let ev_missing = published
        .iter()
        .filter(|n| !seen.contains_key(n.as_str()))
        .count();
    let ev_dup = seen.values().filter(|&&n| n > 1).count();
    let ev_foreign = ev_got
        .iter()
        .filter(|(_, n)| !published.contains(n))
        .count();
    let in_order = ev_got.windows(2).all(|w| w[0].0 < w[1].0);
    let logs = w.logs();
    let errors = logs
        .iter()
        .filter(|l| l.contains("\"log\":\"error\""))
        .count();
    let rss_end = rss_kib(pid).unwrap_or(0);
    let ws_open = !ws_closed.load(Ordering::Relaxed);
    stop_worker(w).await;
    reader.abort();

    let g = tallies.lock().unwrap().clone();
    let mut rows = String::new();
    let mut lost = 0;
    let mut mixed = 0;
    let mut notes = String::new();
    for (kind, rps) in a.rates {
        let mut t = g.get(kind).cloned().unwrap_or_default();
        lost += t.failed + t.skipped;
        mixed += t.wrong;
        rows.push_str(&format!(
            "| {kind} | {rps} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} |\n",
            t.sent,
            t.ok,
            t.timed_out,
            t.wrong,
            t.failed,
            t.skipped,
            pct(&mut t.ms, 0.5),
            pct(&mut t.ms, 0.99)
        ));
        for e in &t.examples {
            notes.push_str(&format!(
                "- {kind}: {}\n",
                e.chars().take(300).collect::<String>()
            ));
        }
    }
    let delivery_lost = missing + (deliveries.len() - recorded_once);
    // A timed-out op whose result never got stored is lost.
    lost += (delivery_lost + ev_missing + (late.len() - late_found)) as u64;
    mixed += (ev_foreign + ev_dup) as u64;
    let mut mem = String::new();
    for (t, rss, fd, load) in &samples {
        mem.push_str(&format!("| {t} | {} | {fd} | {load} |\n", rss / 1024));
    }
    // Slow answers grouped into episodes (sent within 3 s of each other).
    let mut sl = slow.lock().unwrap().clone();
    sl.sort_unstable();
    let mut episodes: Vec<(u64, u64, usize, u64)> = Vec::new();
    for (at, ms) in sl {
        match episodes.last_mut() {
            Some(e) if at <= e.1 + 3 => {
                e.1 = at;
                e.2 += 1;
                e.3 = e.3.max(ms);
            }
            _ => episodes.push((at, at, 1, ms)),
        }
    }
    let mut stalls = String::new();
    for (from, to, n, max) in &episodes {
        stalls.push_str(&format!(
            "| {from}–{to} | {n} | {:.1} |\n",
            *max as f64 / 1000.0
        ));
    }
    if stalls.is_empty() {
        stalls.push_str("| none | | |\n");
    }
    for e in &late_examples {
        notes.push_str(&format!("- a timed-out op's result not stored: {e}\n"));
    }
    let ok = lost == 0 && mixed == 0 && in_order && ws_open;
    report(
        "soak.md",
        &format!(
            "\n# soak, {} s ({})\n\nCommand: `{}`\n\n\
             Open loop: each kind of request at its own steady rate; every answer checked to carry the \
             caller's own data. Traffic ran {traffic_s:.0} s.\n\n\
             | kind | rate (/s) | sent | ok | timed out (documented) | mixed up | failed | skipped (500 in flight) | p50 ms (ok) | p99 ms (ok) |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n{rows}\n\
             Timed-out Sync API ops whose result was stored and fetched afterwards with `show`: \
             {late_found} of {}. Engine callbacks that could not reach the gateway (after 3 tries): \
             {engine_callbacks_failed}.\n\n\
             Answers slower than 2 s, by when they were sent (seconds into the run):\n\n\
             | sent at (s) | answers | slowest (s) |\n| --- | ---: | ---: |\n{stalls}\n\
             {notes}\n\
             | deliveries and events | value |\n| --- | ---: |\n\
             | sends accepted (202) | {} |\n\
             | reached the receiver exactly once / more than once (at-least-once redelivery) / never | {reached_once} / {reached_twice} / {missing} |\n\
             | recorded delivered with one successful attempt | {recorded_once} of {} |\n\
             | events published (202) | {} |\n\
             | received by the WebSocket subscriber / missing / duplicated / not ours | {} / {ev_missing} / {ev_dup} / {ev_foreign} |\n\
             | subscriber's event ids strictly increasing | {in_order} |\n\
             | subscriber still connected at the end | {} |\n\
             | `{{\"log\":\"error\"}}` lines in the worker's log | {errors} |\n\n\
             workerd (pid {pid}) over the run:\n\n\
             | t (s) | RSS (MiB) | open files | machine load (1 min) |\n| ---: | ---: | ---: | ---: |\n{mem}\
             | after settling | {} | |\n\n\
             **Lost: {lost}. Mixed up: {mixed}. Verdict: {}**\n",
            a.duration_s,
            machine(),
            std::env::args().collect::<Vec<_>>().join(" "),
            late.len(),
            deliveries.len(),
            deliveries.len(),
            published.len(),
            ev_got.len(),
            ws_open,
            rss_end / 1024,
            if ok { "pass" } else { "FAIL" },
        ),
    );
    std::process::exit(if ok { 0 } else { 1 });
}
