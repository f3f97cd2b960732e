//! The gateway beside the bare design, in one run (issue 12).
//!
//! Starts, all on 127.0.0.1: the simulated engine and a callback receiver
//! in this process, the real gateway (build/) under workerd through
//! `scripts/serve.mjs`, and the bare-design worker (`bench/bare/index.js`)
//! under the same Miniflare and workerd through `bench/bare/serve.mjs`.
//! Then, for `--rounds` alternating rounds, a closed loop of `--duration`
//! seconds at `--concurrency` callers for each route class, in a fixed
//! order, reading each worker's workerd CPU time (`/proc/PID/stat`, utime +
//! stime) before and after:
//!
//! | class | what |
//! | --- | --- |
//! | bare healthz | the bare worker's `GET /healthz` |
//! | bare pair, in memory | a Durable Object per id parks the caller, calls the engine, is woken by its callback |
//! | bare pair, store first | the same, the callback's result written (put + alarm) before the caller is woken |
//! | bare pair, store first, RPC | the same, the worker calling the object's methods over Workers RPC instead of sending it requests (only with `--only bare-rpc,…`) |
//! | healthz | the gateway's `GET /healthz` |
//! | round trip | a signed Sync API create op, the engine calling back at once |
//! | callback | a process's callback to a fresh, valid request id (no caller parked: the result is stored) |
//! | webhook | a sync webhook to a channel whose process answers at once |
//! | send | `POST …/{id}/send` (its CPU counted until every delivery of the run has reached the receiver) |
//! | publish | `POST …/{id}/events` into one eventing channel with no subscriber |
//!
//! then the latency at one caller, bare store-first pair vs round trip,
//! alternating, then parked at once (`parked.rs`): N callers of each design
//! parked on late callbacks together, a fresh runtime per step, up to each
//! design's first loss. With `--candidate DIR` (a copy of another tree's
//! build/), a second gateway serves that build, and each gateway class runs
//! on it beside build/'s in every round (first in every other round):
//! candidate / build ratios of
//! throughput and CPU, measured side by side (`gateway.rs`). Every answer is checked (its own echo, its status). Prints
//! a markdown section (bench/RESULTS.md) on stdout; progress on stderr.
//! Every loop is bounded in count and time.
//!
//!   barebench [--quick] [--duration S] [--rounds R] [--concurrency C]
//!             [--only CLASSES] [--no-latency] [--parked N,N,…|none] [--candidate DIR]

mod gateway;
mod parked;
mod report;

use futures::future::BoxFuture;
use report::report;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use syncbridge_bench::{children, cmdline, Bare};
use syncbridge_tests::engine::Engine;
use syncbridge_tests::receiver::Receiver;
use syncbridge_tests::worker::{free_port, Worker};

const LOGIN: &str = "bench";
const SECRET: &str = "barebench-sync-secret-0123456789";
const CALLBACK_SECRET: &str = "barebench-callback-secret-0123456789abcdef";
const ADMIN: &str = "barebench-admin-token-0123456789";
const API: &str = "/rest/v1/service/integration_points";
/// In a class's entry: measured on the bare worker's workerd (whose pid
/// changes as it restarts).
const BARE: u32 = 0;
/// Callbacks per round (see the callback class in `run`).
const CALLBACKS_PER_ROUND: u64 = 400;
/// Bare pairs per class and round, after a fifth of it as warm-up: the bare
/// worker's objects stay alive until its isolate collects their stubs, and
/// about 2,500 of them fill workerd's SQLite heap (`parked.rs`), which a
/// 5 s run at 500 pairs a second reached (`SQLITE_NOMEM` losses).
const BARE_PAIRS_PER_ROUND: u64 = 1_600;
/// Longest wait for one answer; only a hung runtime reaches it.
const REQUEST_BOUND: Duration = Duration::from_secs(45);

struct Args {
    quick: bool,
    duration: f64,
    warmup: f64,
    rounds: usize,
    concurrency: usize,
    /// Only these classes (their keys: bare-healthz, bare-logged, healthz, bare-mem,
    /// bare-store, bare-rpc, round-trip, callback, webhook, send, publish); all when empty.
    only: Vec<String>,
    /// Skip the latency-at-one-caller part.
    no_latency: bool,
    /// The parked-at-once steps (callers), each design on a fresh runtime;
    /// none with `--quick` or `--parked none`.
    parked: Vec<usize>,
    /// A candidate build (a copy of another tree's build/) whose gateway
    /// classes run beside build/'s, alternating (`--candidate DIR`).
    candidate: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        quick: false,
        duration: 4.0,
        warmup: 1.0,
        rounds: 3,
        concurrency: 50,
        only: Vec::new(),
        no_latency: false,
        parked: vec![1000, 2000, 2500, 3000, 3500],
        candidate: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let val = |i: usize| -> f64 {
            argv.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", argv[i]))
        };
        match argv[i].as_str() {
            "--quick" => {
                a.quick = true;
                a.duration = 1.0;
                a.warmup = 0.3;
                a.parked.clear();
                i -= 1;
            }
            "--duration" => a.duration = val(i),
            "--warmup" => a.warmup = val(i),
            "--rounds" => a.rounds = val(i) as usize,
            "--concurrency" => a.concurrency = val(i) as usize,
            "--only" => {
                let list = argv.get(i + 1).expect("--only needs a list");
                a.only = list.split(',').map(str::to_owned).collect();
            }
            "--candidate" => {
                let dir = argv.get(i + 1).expect("--candidate needs a folder");
                a.candidate = Some(dir.into());
            }
            "--parked" => {
                let list = argv.get(i + 1).expect("--parked needs a list");
                a.parked = list.split(',').filter_map(|n| n.parse().ok()).collect();
            }
            "--no-latency" => {
                a.no_latency = true;
                i -= 1;
            }
            other => panic!("unknown flag {other}"),
        }
        i += 2;
    }
    a
}

/// workerd's CPU time so far (user + system), in seconds.
fn cpu_s(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The workerd child of the launcher `node_pid`.
fn workerd_under(node_pid: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = children(node_pid)
            .into_iter()
            .find(|&p| cmdline(p).contains("workerd"))
        {
            return p;
        }
        assert!(Instant::now() < deadline, "no workerd under {node_pid}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a gateway class leaves a Durable Object per request (parked, or
/// holding a stored result) for workerd to evict.
fn makes_objects(name: &str) -> bool {
    matches!(key_of(name), "round-trip" | "callback" | "webhook")
}

/// Open files of workerd below which its objects count as evicted: its own
/// few dozen plus a few hundred objects' (about 4 files each).
const SETTLED_FILES: usize = 1500;
/// The longest [`settle`] waits.
const SETTLE_BOUND: Duration = Duration::from_secs(45);

/// Waits (bounded) until the workerd `pid` has evicted most of the objects
/// of the classes before, by its open files.
async fn settle(pid: u32) {
    let start = Instant::now();
    let every = Duration::from_millis(250);
    let (before, after) =
        syncbridge_bench::settle_open_files(pid, SETTLED_FILES, SETTLE_BOUND, every).await;
    if let Some(before) = before.filter(|&b| b > SETTLED_FILES) {
        eprintln!(
            "barebench: waited {:.1} s for workerd to evict idle objects ({before} → {} open files)",
            start.elapsed().as_secs_f64(),
            after.unwrap_or(0)
        );
    }
}

/// A class's key for `--only`.
fn key_of(name: &str) -> &'static str {
    match name.trim_end_matches(" (candidate)") {
        "bare healthz" => "bare-healthz",
        "bare healthz, with a log line" => "bare-logged",
        "healthz" => "healthz",
        "bare pair, in memory" => "bare-mem",
        "bare pair, store first" => "bare-store",
        "bare pair, store first, RPC" => "bare-rpc",
        "round trip" => "round-trip",
        "callback" => "callback",
        "webhook" => "webhook",
        "send" => "send",
        _ => "publish",
    }
}

type Call = Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// One closed-loop run.
#[derive(Clone, Default)]
struct Run {
    ok: u64,
    bad: u64,
    first_bad: Option<String>,
    secs: f64,
    cpu_s: f64,
    lat: Vec<Duration>,
}

impl Run {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.secs
    }
    fn cpu_ms_per_req(&self) -> f64 {
        self.cpu_s * 1000.0 / (self.ok + self.bad).max(1) as f64
    }
}

/// `c` callers, each sending its next request when the last is answered,
/// for `warmup` (not counted) then `secs` seconds.
async fn closed_loop(
    call: &Call,
    seq: &Arc<AtomicU64>,
    c: usize,
    warmup: f64,
    secs: f64,
    pid: u32,
    cap: u64,
) -> Run {
    let run_for = |secs: f64, cap: u64| {
        let call = call.clone();
        let seq = seq.clone();
        async move {
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let budget = Arc::new(AtomicU64::new(0));
            let tasks: Vec<_> = (0..c)
                .map(|_| {
                    let call = call.clone();
                    let seq = seq.clone();
                    let budget = budget.clone();
                    tokio::spawn(async move {
                        let mut r = Run::default();
                        let mut n = 0u64;
                        while Instant::now() < end
                            && n < 1_000_000
                            && budget.fetch_add(1, Ordering::Relaxed) < cap
                        {
                            n += 1;
                            let t = Instant::now();
                            let got = tokio::time::timeout(
                                REQUEST_BOUND,
                                call(seq.fetch_add(1, Ordering::Relaxed)),
                            )
                            .await
                            .unwrap_or_else(|_| Err("no answer within the bound".into()));
                            match got {
                                Ok(()) => {
                                    r.ok += 1;
                                    r.lat.push(t.elapsed());
                                }
                                Err(e) => {
                                    r.bad += 1;
                                    r.first_bad.get_or_insert(e);
                                }
                            }
                        }
                        r
                    })
                })
                .collect();
            let mut all = Run::default();
            for t in tasks {
                let r = t.await.expect("caller task");
                all.ok += r.ok;
                all.bad += r.bad;
                all.first_bad = all.first_bad.or(r.first_bad);
                all.lat.extend(r.lat);
            }
            all
        }
    };
    if warmup > 0.0 {
        run_for(warmup, cap / 5).await;
    }
    let cpu0 = cpu_s(pid);
    let t0 = Instant::now();
    let mut r = run_for(secs, cap).await;
    r.secs = t0.elapsed().as_secs_f64();
    r.cpu_s = cpu_s(pid) - cpu0;
    r
}

async fn expect_status(req: reqwest::RequestBuilder, want: u16) -> Result<Value, String> {
    let resp = req.send().await.map_err(|e| format!("{e}"))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(|e| format!("{e}"))?;
    if status != want {
        return Err(format!(
            "HTTP {status} (wanted {want}): {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        ));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn boxed<F>(f: F) -> BoxFuture<'static, Result<(), String>>
where
    F: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    Box::pin(f)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn spread(v: &[f64]) -> String {
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.2}–{hi:.2}")
}

fn pct(lat: &[Duration], q: f64) -> f64 {
    let mut d = lat.to_vec();
    d.sort();
    if d.is_empty() {
        return f64::NAN;
    }
    d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
}

async fn create_channel(http: &reqwest::Client, base: &str, body: Value) -> Value {
    expect_status(
        http.post(format!("{base}{API}"))
            .bearer_auth(ADMIN)
            .json(&body),
        200,
    )
    .await
    .expect("create a channel")
}

fn main() {
    // Miniflare keeps each Durable Object's SQLite files under $TMPDIR: on
    // tmpfs, as loadgen does, for both workers (they inherit it).
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let tmp = base.join(format!("syncbridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("a temporary folder");
    std::env::set_var("TMPDIR", &tmp);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run());
    let _ = std::fs::remove_dir_all(&tmp);
}

async fn run() {
    let a = args();
    // No cron during the run (see loadgen's main).
    std::env::set_var("SYNCBRIDGE_CRON_MS", "2147483647");
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let secrets = HashMap::from([(LOGIN.to_string(), SECRET.to_string())]);
    let engine = Engine::start(0, secrets).await;
    let receiver = Receiver::start_background();
    let vars = json!({
        "API_KEYS": json!({ LOGIN: SECRET }).to_string(),
        "CALLBACK_SECRET": CALLBACK_SECRET,
        "ADMIN_TOKEN": ADMIN,
        "COREZOID_API_URL": engine.url(),
        "PROCESS_ALLOWED_HOSTS": "http://127.0.0.1",
        "CALLBACK_ALLOWED_HOSTS": "http://127.0.0.1",
        "SYNC_MAX_TIMEOUT_S": "3600",
    });
    eprintln!("barebench: starting the gateway and the bare worker");
    let engine_url = engine.url();
    let start_gw = {
        let vars = vars.clone();
        move || {
            let vars = vars.clone();
            async move {
                tokio::task::spawn_blocking(move || Worker::start(&vars))
                    .await
                    .unwrap()
            }
        }
    };
    let mut gw = start_gw().await;
    let bare_port = free_port();
    let start_bare = move || {
        let engine_url = engine_url.clone();
        async move {
            tokio::task::spawn_blocking(move || Bare::start(&engine_url, bare_port, LOGIN, SECRET))
                .await
                .unwrap()
        }
    };
    let mut bare = start_bare().await;
    let me = std::process::id();
    let node_of = |needle: &str| {
        children(me)
            .into_iter()
            .find(|&p| cmdline(p).contains(needle))
            .unwrap_or_else(|| panic!("no launcher {needle}"))
    };
    let gw_pid = workerd_under(node_of("scripts/serve.mjs"));
    let mut bare_pid = workerd_under(node_of("bench/bare/serve.mjs"));
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .build()
        .unwrap();

    let seq = Arc::new(AtomicU64::new(1));
    let h = http.clone();
    let bare_base = bare.base.clone();
    let health = |base: String, h: reqwest::Client| -> Call {
        Arc::new(move |_| {
            let r = h.get(format!("{base}/healthz"));
            boxed(async move { expect_status(r, 200).await.map(drop) })
        })
    };
    let logged: Call = {
        let (h, base) = (h.clone(), bare_base.clone());
        Arc::new(move |_| {
            let r = h.get(format!("{base}/healthz-logged"));
            boxed(async move { expect_status(r, 200).await.map(drop) })
        })
    };
    let pair = |mode: &'static str| -> Call {
        let (h, base) = (h.clone(), bare_base.clone());
        Arc::new(move |n| {
            let r = h
                .post(format!("{base}/pair/{mode}"))
                .body(json!({"n": n}).to_string());
            boxed(async move {
                let v = expect_status(r, 200).await?;
                (v["echo"]["n"] == n)
                    .then_some(())
                    .ok_or(format!("not my echo: {v}"))
            })
        })
    };
    let g = gateway::classes(&h, &gw.base, &engine.url(), &receiver.url()).await;
    // A candidate build beside build/ (`--candidate DIR`): each gateway
    // class runs on it right after build/'s, in every round.
    let candidate = match &a.candidate {
        Some(dir) => {
            let (vars, dir) = (vars.clone(), dir.clone());
            let w = tokio::task::spawn_blocking(move || Worker::start_from_build(&vars, &dir))
                .await
                .unwrap();
            let pid = workerd_under(w.pid());
            let c = gateway::classes(&h, &w.base, &engine.url(), &receiver.url()).await;
            Some((w, pid, c))
        }
        None => None,
    };
    let mut classes: Vec<(&str, Call, u32)> = vec![
        ("bare healthz", health(bare_base.clone(), h.clone()), BARE),
        ("bare healthz, with a log line", logged, BARE),
        ("healthz", g.healthz.clone(), gw_pid),
        ("bare pair, in memory", pair("mem"), BARE),
        ("bare pair, store first", pair("store"), BARE),
        ("bare pair, store first, RPC", pair("rpc"), BARE),
        ("round trip", g.round_trip.clone(), gw_pid),
        ("callback", g.callback.clone(), gw_pid),
        ("webhook", g.webhook.clone(), gw_pid),
        ("send", g.send.clone(), gw_pid),
        ("publish", g.publish.clone(), gw_pid),
    ];
    if let Some((_, pid, c)) = &candidate {
        for (after, name, call) in [
            ("healthz", "healthz (candidate)", &c.healthz),
            ("round trip", "round trip (candidate)", &c.round_trip),
            ("callback", "callback (candidate)", &c.callback),
            ("webhook", "webhook (candidate)", &c.webhook),
            ("send", "send (candidate)", &c.send),
            ("publish", "publish (candidate)", &c.publish),
        ] {
            let at = classes.iter().position(|c| c.0 == after).unwrap() + 1;
            classes.insert(at, (name, call.clone(), *pid));
        }
    }
    let mut runs: HashMap<&str, Vec<Run>> = HashMap::new();
    let c = a.concurrency;
    // `bare-rpc` runs only when asked for (a reference, not an aim's
    // baseline).
    let wanted = |name: &str| match a.only.is_empty() {
        true => key_of(name) != "bare-rpc",
        false => a.only.iter().any(|o| key_of(name) == o),
    };
    // The bare worker starts afresh before each of its pair classes: its
    // JavaScript stubs keep their objects (and each one's SQLite database)
    // alive until the isolate collects them, and one run leaves thousands,
    // past workerd's SQLite heap (the gateway's Rust stubs are dropped at
    // once).
    for round in 1..=a.rounds {
        // With a candidate, every other round runs it first, so that
        // neither build always follows the other.
        let mut order: Vec<&(&str, Call, u32)> = classes.iter().filter(|c| wanted(c.0)).collect();
        if round % 2 == 0 {
            for i in 1..order.len() {
                if order[i].0.ends_with("(candidate)") {
                    order.swap(i - 1, i);
                }
            }
        }
        for (name, call, pid) in order {
            if name.starts_with("bare pair") {
                drop(bare);
                bare = start_bare().await;
                bare_pid = workerd_under(node_of("bench/bare/serve.mjs"));
            }
            let pid = &(if *pid == BARE { bare_pid } else { *pid });
            // Each callback leaves a stored result in an object of its own
            // (until its alarm), and workerd's SQLite heap holds a few
            // thousand: the callbacks of a round are counted, not timed; so
            // are the bare pairs (their objects outlive them).
            let cap = if *name == "callback" {
                CALLBACKS_PER_ROUND
            } else if name.starts_with("bare pair") {
                BARE_PAIRS_PER_ROUND
            } else {
                u64::MAX
            };
            // Each parked request and each stored result holds its own
            // object's SQLite database until workerd evicts the idle object
            // (some seconds later), under one 512 MiB SQLite heap: a class
            // that makes objects starts once the last one's have gone.
            if *pid != BARE && makes_objects(name) {
                settle(*pid).await;
            }
            let mut r = closed_loop(call, &seq, c, a.warmup, a.duration, *pid, cap).await;
            if name.starts_with("send") {
                // The sends' deliveries run in the same workerd: their CPU
                // counts, up to the last delivery of this run (bounded).
                let cpu0 = cpu_s(*pid) - r.cpu_s;
                let (sent_at, send_key) = match &candidate {
                    Some((_, _, c)) if name.ends_with("(candidate)") => (&c.sent_at, &c.send_key),
                    _ => (&g.sent_at, &g.send_key),
                };
                let want = sent_at.lock().unwrap().len();
                receiver
                    .wait_hits(send_key, want, Duration::from_secs(120))
                    .await;
                r.cpu_s = cpu_s(*pid) - cpu0;
            }
            eprintln!(
                "barebench: round {round} {name}: {:.0}/s, {:.2} ms CPU/req, {} bad{}",
                r.rps(),
                r.cpu_ms_per_req(),
                r.bad,
                r.first_bad
                    .as_deref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            );
            runs.entry(name).or_default().push(r);
        }
    }
    // Latency at one caller: the bare store-first pair against the round
    // trip, alternating.
    let mut lat1: HashMap<&str, Vec<Run>> = HashMap::new();
    let lat_classes = [
        ("bare pair, store first", pair("store"), BARE),
        ("round trip", g.round_trip.clone(), gw_pid),
    ];
    let lat_rounds = if a.no_latency { 0 } else { a.rounds };
    if lat_rounds > 0 {
        drop(bare);
        bare = start_bare().await;
        bare_pid = workerd_under(node_of("bench/bare/serve.mjs"));
    }
    for round in 1..=lat_rounds {
        for (name, call, pid) in &lat_classes {
            let pid = &(if *pid == BARE { bare_pid } else { *pid });
            let r = closed_loop(call, &seq, 1, a.warmup, a.duration, *pid, u64::MAX).await;
            eprintln!(
                "barebench: round {round} {name} at 1 caller: p50 {:.2} ms, p99 {:.2} ms",
                pct(&r.lat, 0.5),
                pct(&r.lat, 0.99)
            );
            lat1.entry(name).or_default().push(r);
        }
    }
    // Parked at once: each design on a fresh runtime per step (objects of an
    // earlier step hold their SQLite databases until evicted), alternating,
    // each up to its first loss. The delay is sized from the slower
    // design's round-trip rate above, so both get the same one.
    let mut parked_steps: Vec<parked::Step> = Vec::new();
    if !a.parked.is_empty() {
        let rate = ["bare pair, store first", "round trip"]
            .iter()
            .filter_map(|n| {
                runs.get(n)
                    .map(|rs| median(rs.iter().map(Run::rps).collect()))
            })
            .fold(250.0f64, f64::min);
        let mut lost = [false, false];
        for &n in &a.parked {
            let delay_ms = parked::delay_for(n, rate);
            for (i, design) in ["bare pair, store first", "round trip"]
                .into_iter()
                .enumerate()
            {
                if lost[i] {
                    continue;
                }
                let first_n = seq.fetch_add(n as u64, Ordering::Relaxed);
                let step = if i == 0 {
                    drop(bare);
                    bare = start_bare().await;
                    let call = parked::bare_pair(&h, &bare.base, delay_ms);
                    parked::step(design, &call, &engine, first_n, n, delay_ms).await
                } else {
                    drop(gw);
                    gw = start_gw().await;
                    let call = parked::round_trip(&h, &gw.base, LOGIN, SECRET, delay_ms);
                    parked::step(design, &call, &engine, first_n, n, delay_ms).await
                };
                lost[i] = step.lost > 0;
                parked_steps.push(step);
            }
            if lost == [true, true] {
                break;
            }
        }
    }
    // Send → first attempt, from the receiver's hits.
    let sent = g.sent_at.lock().unwrap().clone();
    let first_attempt: Vec<Duration> = {
        let mut first: HashMap<u64, Instant> = HashMap::new();
        for hit in receiver.hits(&g.send_key) {
            let n = serde_json::from_slice::<Value>(&hit.body)
                .ok()
                .and_then(|v| v["n"].as_u64());
            if let Some(n) = n {
                let e = first.entry(n).or_insert(hit.at);
                *e = (*e).min(hit.at);
            }
        }
        sent.iter()
            .filter_map(|(n, t)| Some(first.get(n)?.saturating_duration_since(*t)))
            .collect()
    };
    let delivered = first_attempt.len();
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let names: Vec<&str> = classes.iter().map(|c| c.0).filter(|n| wanted(n)).collect();
    print!(
        "{}",
        report(
            &a,
            &runs,
            &names,
            &lat1,
            (&first_attempt, sent.len(), delivered),
            &parked_steps,
            (&load_before, &load_after)
        )
    );
    drop(bare);
    drop(gw);
}
