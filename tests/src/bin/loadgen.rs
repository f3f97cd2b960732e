//! loadgen: the syncbridge benchmark.
//!
//! Starts the simulated engine in this process and the real worker (build/)
//! under workerd, both on 127.0.0.1, then measures:
//!
//! 1. `GET /healthz` requests/s at a fixed concurrency (the baseline);
//! 2. signed Sync API round trips/s at the same concurrency, every answer
//!    checked (`request_proc: ok`, `ops[0].data.echo.n` is the caller's own);
//! 3. latency p50/p99 of both at several concurrencies;
//! 4. parked capacity: N callers parked at once on late callbacks, none lost;
//! 5. (native, no worker) signature checking vs raw SHA-1 over the same bytes.
//!
//! Every loop is bounded in count and in time. Progress goes to stderr; the
//! results, a markdown section, go to stdout. The exit status is 1 when an
//! answer of phases 1-3 was wrong, so a smoke run (`--quick`) is a check too.
//!
//!   loadgen [--quick] [--only all|http|parked|sig] [--duration S] [--warmup S]
//!           [--concurrency C] [--rounds R] [--levels 1,50,200] [--parked 1000,2000,5000,10000]
//!           [--park-delay-ms MS] [--park-limit S] [--sig-iters N]
//!           [--sig-rounds R] [--storage tmpfs|disk] [--label TEXT]

use futures::future::join_all;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use syncbridge_core::signature;
use syncbridge_tests::client::sync_url;
use syncbridge_tests::engine::Engine;
use syncbridge_tests::worker::Worker;

const LOGIN: &str = "bench";
const SECRET: &str = "bench-secret-4f1c2e9a7d3b5c8e0a6f";
const CALLBACK_SECRET: &str = "bench-callback-secret-0123456789abcdef0123";
/// The `timeout` of the throughput and latency requests (seconds).
const SYNC_TIMEOUT_S: u64 = 30;
/// Hard cap on the requests of one closed-loop run, whatever its duration.
const MAX_REQUESTS_PER_RUN: u64 = 10_000_000;
/// Longest wait for one answer in a closed-loop run: the gateway answers by
/// `SYNC_TIMEOUT_S` plus its grace, so this only trips if the runtime hangs.
const REQUEST_BOUND: Duration = Duration::from_secs(SYNC_TIMEOUT_S + 15);
/// A parked step that has lost a request is cut this long after the loss:
/// it has failed already, and waiting out its bound would teach nothing.
const LOSS_GRACE: Duration = Duration::from_secs(10);
/// Longest wait for workerd to let go of the previous step's objects.
const SETTLE_MAX: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- arguments

#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    Http,
    Parked,
    Sig,
}

/// Miniflare keeps each Durable Object's SQLite files under `$TMPDIR` even
/// without persistence; on this machine's disk that costs syncs, on tmpfs not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    Tmpfs,
    Disk,
}

struct Args {
    only: Only,
    quick: bool,
    /// Measured seconds of each closed-loop run.
    duration: f64,
    /// Unmeasured seconds run before each closed-loop run.
    warmup: f64,
    /// Concurrency of the throughput comparison (phases 1 and 2).
    concurrency: usize,
    /// Alternating /healthz and sync runs of the throughput comparison.
    rounds: usize,
    /// Concurrencies of the latency table (phase 3).
    levels: Vec<usize>,
    /// Parked-capacity steps (phase 4), tried in order until one loses a request.
    parked: Vec<usize>,
    /// Fixed engine callback delay of the parked steps; `None`: sized per step.
    park_delay_ms: Option<u64>,
    /// Time bound of one parked step; `None`: twice its delay plus a minute.
    park_limit_s: Option<u64>,
    sig_iters: u64,
    sig_rounds: usize,
    storage: Storage,
    /// Free text put in the report's heading (e.g. the build profile).
    label: Option<String>,
}

const USAGE: &str = "usage: loadgen [--quick] [--only all|http|parked|sig] [--duration S] \
[--warmup S] [--concurrency C] [--rounds R] [--levels 1,50,200] [--parked 1000,2000,5000,10000] \
[--park-delay-ms MS] [--park-limit S] [--sig-iters N] [--sig-rounds R] \
[--storage tmpfs|disk] [--label TEXT]";

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

impl Args {
    fn parse() -> Args {
        let raw: Vec<String> = std::env::args().skip(1).collect();
        let quick = raw.iter().any(|a| a == "--quick");
        // --quick only changes the defaults; explicit flags still win.
        let mut a = Args {
            only: Only::All,
            quick,
            duration: if quick { 1.0 } else { 5.0 },
            warmup: if quick { 0.3 } else { 1.0 },
            concurrency: 50,
            rounds: if quick { 1 } else { 3 },
            levels: if quick { vec![1, 50] } else { vec![1, 50, 200] },
            parked: if quick {
                vec![200, 1000]
            } else {
                // Intermediate steps locate the ceiling when 5,000 is too many.
                vec![1000, 2000, 2500, 3000, 5000, 10_000]
            },
            park_delay_ms: None,
            park_limit_s: None,
            sig_iters: if quick { 20_000 } else { 200_000 },
            sig_rounds: if quick { 4 } else { 10 },
            storage: Storage::Tmpfs,
            label: None,
        };
        let mut it = raw.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--quick" {
                continue;
            }
            if flag == "-h" || flag == "--help" {
                eprintln!("{USAGE}");
                std::process::exit(0);
            }
            let val = it
                .next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value\n{USAGE}")));
            let num = |v: &str| -> f64 {
                v.parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite() && *x >= 0.0)
                    .unwrap_or_else(|| die(&format!("{flag}: not a number: {v}")))
            };
            let list =
                |v: &str| -> Vec<usize> { v.split(',').map(|s| num(s.trim()) as usize).collect() };
            match flag.as_str() {
                "--only" => {
                    a.only = match val.as_str() {
                        "all" => Only::All,
                        "http" => Only::Http,
                        "parked" => Only::Parked,
                        "sig" => Only::Sig,
                        o => die(&format!("--only all|http|parked|sig, not {o}")),
                    }
                }
                "--duration" => a.duration = num(&val),
                "--warmup" => a.warmup = num(&val),
                "--concurrency" => a.concurrency = num(&val) as usize,
                "--rounds" => a.rounds = num(&val) as usize,
                "--levels" => a.levels = list(&val),
                "--parked" => a.parked = list(&val),
                "--park-delay-ms" => a.park_delay_ms = Some(num(&val) as u64),
                "--park-limit" => a.park_limit_s = Some(num(&val) as u64),
                "--sig-iters" => a.sig_iters = num(&val) as u64,
                "--sig-rounds" => a.sig_rounds = num(&val) as usize,
                "--storage" => {
                    a.storage = match val.as_str() {
                        "tmpfs" => Storage::Tmpfs,
                        "disk" => Storage::Disk,
                        o => die(&format!("--storage tmpfs|disk, not {o}")),
                    }
                }
                "--label" => a.label = Some(val),
                other => die(&format!("unknown argument {other}\n{USAGE}")),
            }
        }
        if a.duration <= 0.0
            || a.concurrency == 0
            || a.rounds == 0
            || a.levels.contains(&0)
            || a.parked.contains(&0)
            || a.sig_iters == 0
            || a.sig_rounds == 0
        {
            die("durations, concurrencies, steps and iterations must be positive");
        }
        a
    }

    fn wants(&self, phase: Only) -> bool {
        self.only == Only::All || self.only == phase
    }
}

// ------------------------------------------------------ process accounting

/// The fields of `/proc/{pid}/stat` after the command name (which may
/// contain spaces): `[0]` is the state, `[1]` the parent, `[11..13]` CPU ticks.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        s.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// Live (not zombie) processes whose parent is `ppid`.
fn children(ppid: u32) -> Vec<u32> {
    let ppid = ppid.to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(&pid.to_string())
                .is_some_and(|f| f.len() > 1 && f[1] == ppid && f[0] != "Z")
        })
        .collect()
}

fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Our worker's processes: node (serve.mjs), our child, and its workerd.
struct WorkerProcs {
    node: Option<u32>,
    workerd: Option<u32>,
}

impl WorkerProcs {
    fn find() -> WorkerProcs {
        let node = children(std::process::id())
            .into_iter()
            .find(|&p| cmdline(p).contains("serve.mjs"));
        let workerd = node.and_then(|n| {
            children(n)
                .into_iter()
                .find(|&p| cmdline(p).contains("workerd"))
        });
        WorkerProcs { node, workerd }
    }

    /// workerd's open file descriptors (sockets and SQLite files).
    fn open_files(&self) -> Option<usize> {
        Some(
            std::fs::read_dir(format!("/proc/{}/fd", self.workerd?))
                .ok()?
                .count(),
        )
    }

    fn rss_mib(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.workerd?)).ok()?;
        let kib: u64 = s
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024)
    }

    /// workerd's soft limit on open files.
    fn open_files_limit(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/limits", self.workerd?)).ok()?;
        s.lines()
            .find(|l| l.starts_with("Max open files"))?
            .split_whitespace()
            .nth(3)?
            .parse()
            .ok()
    }

    /// Stops the worker gracefully. `Worker`'s drop kills node with SIGKILL,
    /// which leaves workerd running as an orphan; SIGTERM lets serve.mjs
    /// dispose of Miniflare, which stops workerd. The drop then only reaps.
    fn stop(&self, worker: Worker) {
        let signal = |sig: &str, pid: u32| {
            let _ = std::process::Command::new("kill")
                .args([sig, &pid.to_string()])
                .status();
        };
        let alive = |p: u32| stat_fields(&p.to_string()).is_some_and(|f| f[0] != "Z");
        if let Some(node) = self.node {
            signal("-TERM", node);
            let deadline = Instant::now() + Duration::from_secs(20);
            while (alive(node) || self.workerd.is_some_and(alive)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Disposal took too long: end our own workerd before node goes.
        if let Some(w) = self.workerd.filter(|&w| alive(w)) {
            signal("-KILL", w);
        }
        drop(worker);
    }
}

/// CPU time counters, to tell whether a run was CPU-bound and how much of
/// the machine the load generator itself took (it shares the cores).
#[derive(Clone, Copy)]
struct Cpu {
    at: Instant,
    /// This process: user + system clock ticks.
    own_ticks: u64,
    /// The machine: (busy, total) jiffies summed over all cores.
    busy: u64,
    total: u64,
}

impl Cpu {
    fn now() -> Cpu {
        let own_ticks = stat_fields("self")
            .and_then(|f| Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?))
            .unwrap_or(0);
        let (busy, total) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let v: Vec<u64> = s
                    .lines()
                    .next()?
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                let total: u64 = v.iter().take(8).sum();
                // idle and iowait are not busy.
                let idle = v.get(3)? + v.get(4).unwrap_or(&0);
                Some((total - idle, total))
            })
            .unwrap_or((0, 0));
        Cpu {
            at: Instant::now(),
            own_ticks,
            busy,
            total,
        }
    }

    /// (cores used by this process, fraction of the machine busy) since `self`.
    fn since(&self) -> (f64, f64) {
        let now = Cpu::now();
        let secs = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        // Linux reports process times in USER_HZ, 100 on every mainstream platform.
        let own = now.own_ticks.saturating_sub(self.own_ticks) as f64 / 100.0 / secs;
        let busy = now.busy.saturating_sub(self.busy) as f64
            / now.total.saturating_sub(self.total).max(1) as f64;
        (own, busy)
    }
}

// ---------------------------------------------------------------- requests

/// How one request ended.
enum Outcome {
    /// The expected answer.
    Ok,
    /// An answer came, but not the expected one (wrong echo, op error, …).
    Wrong(String),
    /// No usable answer: transport error, timeout, non-JSON.
    Failed(String),
}

/// Counts of outcomes, with the first problem of each kind kept as an example.
#[derive(Default)]
struct Tally {
    ok: u64,
    wrong: u64,
    failed: u64,
    first_wrong: Option<String>,
    first_failed: Option<String>,
    first_loss_at: Option<Instant>,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Ok => {
                self.ok += 1;
                return;
            }
            Outcome::Wrong(e) => {
                self.wrong += 1;
                self.first_wrong.get_or_insert(e);
            }
            Outcome::Failed(e) => {
                self.failed += 1;
                self.first_failed.get_or_insert(e);
            }
        }
        self.first_loss_at.get_or_insert_with(Instant::now);
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.wrong += other.wrong;
        self.failed += other.failed;
        self.first_wrong = self.first_wrong.take().or(other.first_wrong);
        self.first_failed = self.first_failed.take().or(other.first_failed);
    }

    /// The first wrong answer and the first failure, labelled.
    fn problems(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("First wrong answer", &self.first_wrong),
            ("First failure", &self.first_failed),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_deref()?)))
    }

    fn bad(&self) -> u64 {
        self.wrong + self.failed
    }

    fn answered(&self) -> u64 {
        self.ok + self.bad()
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(240).collect()
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    engine: Engine,
    /// Source of unique `n` values, so every caller can recognise its own echo.
    seq: AtomicU64,
}

impl Ctx {
    async fn healthz(&self) -> Outcome {
        match self.http.get(format!("{}/healthz", self.base)).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                // Read the body so the connection goes back to the pool.
                match r.bytes().await {
                    Ok(_) if status == 200 => Outcome::Ok,
                    Ok(b) => Outcome::Wrong(format!(
                        "HTTP {status}: {}",
                        excerpt(&String::from_utf8_lossy(&b))
                    )),
                    Err(e) => Outcome::Failed(format!("GET /healthz body: {e}")),
                }
            }
            Err(e) => Outcome::Failed(format!("GET /healthz: {e}")),
        }
    }

    /// One signed Sync API round trip with a single create op, checked.
    async fn sync(&self, timeout_s: u64, sim: Option<&Value>) -> Outcome {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut data = json!({ "n": n });
        if let Some(sim) = sim {
            data["sim"] = sim.clone();
        }
        let body = json!({
            "timeout": timeout_s,
            "ops": [{"type": "create", "obj": "task", "conv_id": 1, "data": data}],
        })
        .to_string();
        let url = sync_url(&self.base, LOGIN, SECRET, body.as_bytes());
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("POST sync: {e}")),
        };
        let status = resp.status().as_u16();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(format!("sync answer body: {e}")),
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            return Outcome::Failed(format!("HTTP {status}, not JSON: {}", excerpt(&text)));
        };
        let op = &v["ops"][0];
        if status == 200
            && v["request_proc"] == "ok"
            && op["proc"] == "ok"
            && op["data"]["echo"]["n"] == n
        {
            Outcome::Ok
        } else {
            Outcome::Wrong(format!(
                "HTTP {status}, expected echo.n={n}: {}",
                excerpt(&text)
            ))
        }
    }
}

// ------------------------------------------------------------ closed loops

/// The result of one closed-loop run.
#[derive(Default)]
struct Run {
    tally: Tally,
    elapsed: Duration,
    /// Latencies of the good requests, in microseconds, sorted.
    lat_us: Vec<u32>,
    /// (cores used by loadgen, machine busy fraction) during the run.
    cpu: (f64, f64),
}

impl Run {
    /// Several runs of the same route taken as one.
    fn combine(runs: Vec<Run>) -> Run {
        let mut all = Run::default();
        let (mut own, mut busy) = (0.0, 0.0);
        for r in runs {
            let secs = r.elapsed.as_secs_f64();
            own += r.cpu.0 * secs;
            busy += r.cpu.1 * secs;
            all.elapsed += r.elapsed;
            all.tally.merge(r.tally);
            all.lat_us.extend(r.lat_us);
        }
        let secs = all.elapsed.as_secs_f64().max(1e-9);
        all.cpu = (own / secs, busy / secs);
        all.lat_us.sort_unstable();
        all
    }

    fn rps(&self) -> f64 {
        self.tally.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile in milliseconds (nearest rank).
    fn pct_ms(&self, q: f64) -> f64 {
        if self.lat_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * self.lat_us.len() as f64).ceil() as usize).clamp(1, self.lat_us.len());
        self.lat_us[rank - 1] as f64 / 1000.0
    }
}

/// Runs `concurrency` callers that each send `call` back to back until
/// `duration` has passed (or the run's request cap is reached).
async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let cpu = Cpu::now();
    let start = Instant::now();
    let end = start + duration;
    let issued = Arc::new(AtomicU64::new(0));
    let callers = (0..concurrency).map(|_| {
        let call = call.clone();
        let issued = issued.clone();
        tokio::spawn(async move {
            let (mut tally, mut lat_us) = (Tally::default(), Vec::new());
            while Instant::now() < end
                && issued.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS_PER_RUN
            {
                let t0 = Instant::now();
                let o = tokio::time::timeout(REQUEST_BOUND, call())
                    .await
                    .unwrap_or_else(|_| {
                        Outcome::Failed(format!("no answer within {} s", REQUEST_BOUND.as_secs()))
                    });
                if matches!(o, Outcome::Ok) {
                    lat_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                tally.add(o);
            }
            (tally, lat_us)
        })
    });
    let mut run = Run::default();
    for r in join_all(callers).await {
        let (tally, lat_us) = r.expect("a caller task panicked");
        run.tally.merge(tally);
        run.lat_us.extend(lat_us);
    }
    run.elapsed = start.elapsed();
    run.cpu = cpu.since();
    run.lat_us.sort_unstable();
    run
}

#[derive(Clone, Copy)]
enum Route {
    Healthz,
    Sync,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Healthz => "GET /healthz",
            Route::Sync => "sync round trip",
        }
    }
}

/// A warm-up run (discarded), then the measured run of `route`.
async fn measure(ctx: &Arc<Ctx>, route: Route, concurrency: usize, args: &Args) -> Run {
    let call = {
        let ctx = ctx.clone();
        move || {
            let ctx = ctx.clone();
            async move {
                match route {
                    Route::Healthz => ctx.healthz().await,
                    Route::Sync => ctx.sync(SYNC_TIMEOUT_S, None).await,
                }
            }
        }
    };
    if args.warmup > 0.0 {
        closed_loop(
            concurrency,
            Duration::from_secs_f64(args.warmup),
            call.clone(),
        )
        .await;
    }
    let r = closed_loop(concurrency, Duration::from_secs_f64(args.duration), call).await;
    eprintln!(
        "loadgen: {:<16} c={:<4} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  bad {}",
        route.label(),
        concurrency,
        r.rps(),
        r.pct_ms(0.50),
        r.pct_ms(0.99),
        r.tally.bad()
    );
    for (kind, p) in r.tally.problems() {
        eprintln!("loadgen:   {kind}: {p}");
    }
    r
}

// ------------------------------------------------------------ parked steps

struct ParkedStep {
    n: usize,
    delay_ms: u64,
    tally: Tally,
    /// Callers still waiting when the step was cut (time bound, or a loss).
    unanswered: u64,
    /// Why the step was cut short, if it was.
    cut: Option<String>,
    /// Most tasks the engine held at once whose callback the gateway had not
    /// yet answered: callers parked at the same moment.
    peak_parked: usize,
    /// Time until the engine had all N tasks, i.e. every caller was parked.
    ramp: Option<Duration>,
    wall: Duration,
    cpu: (f64, f64),
    /// workerd's open files before the step and at most during it.
    files_before: Option<usize>,
    files_peak: Option<usize>,
    rss_peak_mib: Option<u64>,
}

impl ParkedStep {
    fn lost(&self) -> u64 {
        self.tally.bad() + self.unanswered
    }
}

#[derive(Default)]
struct Peaks {
    parked: usize,
    ramp: Option<Duration>,
    files: Option<usize>,
    rss_mib: Option<u64>,
}

/// Fires `n` concurrent callers whose callbacks come `delay_ms` after the
/// engine gets each task, and counts the ones answered with their own echo.
async fn parked_step(
    ctx: &Arc<Ctx>,
    procs: &Arc<WorkerProcs>,
    n: usize,
    delay_ms: u64,
    bound: Duration,
) -> ParkedStep {
    let (received0, callbacks0) = {
        let log = ctx.engine.state.log.lock().unwrap();
        (log.received.len(), log.callbacks.len())
    };
    let files_before = procs.open_files();
    let cpu = Cpu::now();
    let start = Instant::now();

    // A plain thread watches the engine's log (parked = tasks received −
    // callbacks answered) and workerd's open files and memory.
    let done = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (ctx, procs, done) = (ctx.clone(), procs.clone(), done.clone());
        std::thread::spawn(move || {
            let mut p = Peaks::default();
            let mut tick = 0u64;
            while !done.load(Ordering::Relaxed) && start.elapsed() < bound + LOSS_GRACE {
                let (received, answered) = {
                    let log = ctx.engine.state.log.lock().unwrap();
                    (
                        log.received.len() - received0,
                        log.callbacks.len() - callbacks0,
                    )
                };
                p.parked = p.parked.max(received.saturating_sub(answered));
                if p.ramp.is_none() && received >= n {
                    p.ramp = Some(start.elapsed());
                }
                // Listing thousands of descriptors costs more: every 200 ms.
                if tick.is_multiple_of(20) {
                    p.files = p.files.max(procs.open_files());
                    p.rss_mib = p.rss_mib.max(procs.rss_mib());
                }
                tick += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            p
        })
    };

    // The body's timeout outlasts the step, so only the step ends a wait.
    let sim = Arc::new(json!({"mode": "late", "delay_ms": delay_ms}));
    let timeout_s = bound.as_secs() + 60;
    // Outcomes are tallied as they come, so a step cut short still counts.
    let tally = Arc::new(Mutex::new(Tally::default()));
    let callers: Vec<_> = (0..n)
        .map(|_| {
            let (ctx, sim, tally) = (ctx.clone(), sim.clone(), tally.clone());
            tokio::spawn(async move {
                let o = ctx.sync(timeout_s, Some(&sim)).await;
                tally.lock().unwrap().add(o);
            })
        })
        .collect();
    let cut = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = tally.lock().unwrap();
        if t.answered() == n as u64 {
            break None;
        }
        if start.elapsed() >= bound {
            break Some(format!("at its time bound of {} s", bound.as_secs()));
        }
        if t.first_loss_at.is_some_and(|at| at.elapsed() >= LOSS_GRACE) {
            break Some(format!("{} s after the first loss", LOSS_GRACE.as_secs()));
        }
    };
    // Whatever ended the step, no caller outlives it.
    callers.iter().for_each(|c| c.abort());
    let wall = start.elapsed();
    let cpu = cpu.since();
    done.store(true, Ordering::Relaxed);
    let peaks = tokio::task::spawn_blocking(move || monitor.join())
        .await
        .expect("join the monitor")
        .expect("the monitor panicked");

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let s = ParkedStep {
        n,
        delay_ms,
        unanswered: n as u64 - tally.answered(),
        tally,
        cut,
        peak_parked: peaks.parked,
        ramp: peaks.ramp,
        wall,
        cpu,
        files_before,
        files_peak: peaks.files,
        rss_peak_mib: peaks.rss_mib,
    };
    eprintln!(
        "loadgen: parked N={n:<6} delay {delay_ms} ms: ok {} lost {} peak parked {} workerd files {:?} wall {:.1} s",
        s.tally.ok,
        s.lost(),
        s.peak_parked,
        s.files_peak,
        wall.as_secs_f64()
    );
    for (kind, p) in s.tally.problems() {
        eprintln!("loadgen:   {kind}: {p}");
    }
    s
}

/// Waits (bounded) until workerd has closed most of the files it opened for
/// the objects of earlier requests, so each step starts from a clean slate.
async fn settle(procs: &WorkerProcs, baseline: Option<usize>) {
    let (Some(base), Some(_)) = (baseline, procs.workerd) else {
        tokio::time::sleep(Duration::from_secs(2)).await;
        return;
    };
    let start = Instant::now();
    while start.elapsed() < SETTLE_MAX && procs.open_files().is_some_and(|f| f > base + 100) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// --------------------------------------------------------- signature bench

struct SigBench {
    body_len: usize,
    iters: u64,
    rounds: usize,
    verify_per_s: f64,
    sha1_per_s: f64,
    naive_per_s: f64,
    streamed_per_s: f64,
    /// Median over rounds of verify / raw sha1 throughput.
    median_ratio: f64,
}

/// Times `signature::verify` against SHA-1 of the same bytes. The rounds
/// rotate which side goes first, so drift (clock boost, caches) is shared.
fn sig_bench(iters: u64, rounds: usize) -> SigBench {
    let t = "1767225600";
    let secret = SECRET;
    // A ~1 KB Sync API body: a create op with some data.
    let mut body =
        String::from(r#"{"timeout":30,"ops":[{"type":"create","obj":"task","conv_id":1,"data":{"#);
    let mut i = 0;
    while body.len() < 1000 {
        write!(
            body,
            r#""field_{i}":"value number {i} of the benchmark body","#
        )
        .unwrap();
        i += 1;
    }
    body.push_str(r#""n":1}}]}"#);
    let body = body.into_bytes();
    let sig = signature::sign(t, secret, &body);
    assert!(
        signature::verify(&sig, t, secret, &body),
        "verify must accept its own signature"
    );
    // The baseline hashes one contiguous, prebuilt buffer: the least work
    // any implementation of the formula can do.
    let concat: Vec<u8> = [t.as_bytes(), secret.as_bytes(), &body, secret.as_bytes()].concat();
    assert_eq!(hex::encode(Sha1::digest(&concat)), sig);

    let timed = |f: &dyn Fn()| {
        let t0 = Instant::now();
        for _ in 0..iters {
            f();
        }
        t0.elapsed()
    };
    let verify = || {
        black_box(signature::verify(
            black_box(&sig),
            black_box(t),
            black_box(secret),
            black_box(&body),
        ));
    };
    let raw = || {
        black_box(Sha1::digest(black_box(&concat)));
    };
    // What a straightforward check does: build the string, hash, compare hex.
    let naive = || {
        let mut buf = Vec::with_capacity(concat.len());
        buf.extend_from_slice(t.as_bytes());
        buf.extend_from_slice(secret.as_bytes());
        buf.extend_from_slice(black_box(&body));
        buf.extend_from_slice(secret.as_bytes());
        black_box(hex::encode(Sha1::digest(&buf)) == black_box(&sig).to_lowercase());
    };
    // verify's hashing alone: the four pieces fed in turn, no hex, no compare.
    let streamed = || {
        let mut h = Sha1::new();
        h.update(black_box(t).as_bytes());
        h.update(black_box(secret).as_bytes());
        h.update(black_box(&body));
        h.update(black_box(secret).as_bytes());
        black_box(h.finalize());
    };
    let sides: [&dyn Fn(); 4] = [&verify, &raw, &naive, &streamed];
    // One unmeasured pass to warm caches and clocks.
    sides.iter().for_each(|f| {
        timed(*f);
    });
    let n = sides.len();
    let mut totals = vec![Duration::ZERO; n];
    let mut ratios = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let mut round = vec![Duration::ZERO; n];
        for k in 0..n {
            let side = (r + k) % n;
            round[side] = timed(sides[side]);
        }
        for (total, d) in totals.iter_mut().zip(&round) {
            *total += *d;
        }
        // Throughput ratio is the time ratio inverted.
        ratios.push(round[1].as_secs_f64() / round[0].as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let per_s = |d: Duration| (iters as f64 * rounds as f64) / d.as_secs_f64();
    SigBench {
        body_len: body.len(),
        iters,
        rounds,
        verify_per_s: per_s(totals[0]),
        sha1_per_s: per_s(totals[1]),
        naive_per_s: per_s(totals[2]),
        streamed_per_s: per_s(totals[3]),
        median_ratio: ratios[ratios.len() / 2],
    }
}

// ------------------------------------------------------------------ report

/// The results being assembled: a summary table plus detailed sections.
#[derive(Default)]
struct Report {
    summary: Vec<[String; 3]>,
    details: String,
    /// True when a throughput or latency run got a wrong or failed answer.
    wrong_answers: bool,
}

impl Report {
    fn figure(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        aim: impl Into<String>,
    ) {
        self.summary.push([name.into(), value.into(), aim.into()]);
    }
}

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

fn cpu_note((own, busy): (f64, f64)) -> String {
    format!("{:.0}% / {:.2}", busy * 100.0, own)
}

/// The tally's example problems as markdown sentences.
fn problem_note(t: &Tally) -> String {
    t.problems()
        .map(|(kind, p)| format!(" {kind}: `{}`.", p.replace('|', "\\|").replace('`', "'")))
        .collect()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("—".into(), |v| v.to_string())
}

// -------------------------------------------------------------------- main

fn main() {
    let args = Args::parse();
    // A private temporary directory for miniflare, set before any thread
    // starts (the worker inherits it) and removed at the end.
    let (tmp, storage) = bench_tmpdir(args.storage);
    std::env::set_var("TMPDIR", &tmp);
    // serve.mjs fires the worker's cron through Miniflare's synchronous proxy
    // (Atomics.wait on node's main thread). Meanwhile node stops draining
    // workerd's stdout, and under load the one log line per request fills
    // that pipe: workerd blocks writing to it and never answers, a deadlock.
    // The Sync API needs no cron, so keep it from firing during the run
    // (the longest interval setInterval takes; a longer one means 1 ms).
    std::env::set_var("SYNCBRIDGE_CRON_MS", "2147483647");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = rt.block_on(run(args, storage));
    drop(rt);
    let _ = std::fs::remove_dir_all(&tmp);
    std::process::exit(code);
}

/// Creates `syncbridge-bench-<pid>` on tmpfs (`/dev/shm`) or on disk (the
/// system's temporary directory); says which one it got.
fn bench_tmpdir(want: Storage) -> (PathBuf, Storage) {
    let shm = Path::new("/dev/shm");
    let (base, got) = if want == Storage::Tmpfs && shm.is_dir() {
        (shm.to_path_buf(), Storage::Tmpfs)
    } else {
        (std::env::temp_dir(), Storage::Disk)
    };
    let dir = base.join(format!("syncbridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| die(&format!("create {}: {e}", dir.display())));
    (dir, got)
}

async fn run(args: Args, storage: Storage) -> i32 {
    let mut rep = Report::default();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());

    if args.wants(Only::Http) || args.wants(Only::Parked) {
        let secrets = HashMap::from([(LOGIN.to_string(), SECRET.to_string())]);
        let engine = Engine::start(0, secrets).await;
        let vars = json!({
            "API_KEYS": json!({ LOGIN: SECRET }).to_string(),
            "CALLBACK_SECRET": CALLBACK_SECRET,
            "COREZOID_API_URL": engine.url(),
            "SYNC_MAX_TIMEOUT_S": "3600",
        });
        eprintln!("loadgen: engine on {}; starting the worker", engine.url());
        // Worker::start blocks until workerd is ready.
        let worker = tokio::task::spawn_blocking(move || Worker::start(&vars))
            .await
            .expect("start the worker");
        let procs = Arc::new(WorkerProcs::find());
        // What workerd holds open when idle, before any object exists.
        let idle_files = procs.open_files();
        eprintln!(
            "loadgen: worker on {} (workerd pid {})",
            worker.base,
            opt(procs.workerd)
        );
        let http = reqwest::Client::builder()
            // The pool is unbounded by default: every parked caller keeps
            // its own connection (busy, not idle, while it waits). An idle
            // connection is dropped after 2 s: Miniflare's server closes
            // idle keep-alive connections after 5 s, and a request sent on
            // one just as it closes fails before it reaches the worker.
            .pool_idle_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(3600))
            .build()
            .expect("http client");
        let ctx = Arc::new(Ctx {
            http,
            base: worker.base.clone(),
            engine,
            seq: AtomicU64::new(1),
        });

        let mut sync_rps = None;
        if args.wants(Only::Http) {
            let (h, s) = throughput_phase(&ctx, &args, &mut rep).await;
            sync_rps = Some(s.rps());
            latency_phase(&ctx, &args, (h, s), &mut rep).await;
        }
        if args.wants(Only::Parked) {
            parked_phase(&ctx, &procs, idle_files, &args, sync_rps, &mut rep).await;
        }
        drop(ctx);
        tokio::task::spawn_blocking(move || procs.stop(worker))
            .await
            .expect("stop the worker");
    }

    if args.wants(Only::Sig) {
        signature_phase(&args, &mut rep);
    }

    let mut out = String::new();
    let title = args
        .label
        .as_deref()
        .map_or(String::new(), |l| format!(" ({l})"));
    writeln!(out, "## loadgen results{title}\n").unwrap();
    let mut settings = Vec::new();
    if args.wants(Only::Http) {
        settings.push(format!(
            "{} s measured (+{} s warm-up) per run; throughput at concurrency {} over {} round(s); latency at {:?}",
            args.duration, args.warmup, args.concurrency, args.rounds, args.levels
        ));
    }
    if args.wants(Only::Parked) {
        settings.push(format!("parked steps {:?}", args.parked));
    }
    if args.wants(Only::Http) || args.wants(Only::Parked) {
        settings.push(format!(
            "Durable Object storage (miniflare's SQLite files) on {}",
            match storage {
                Storage::Tmpfs => "tmpfs (/dev/shm)",
                Storage::Disk => "disk",
            }
        ));
    }
    if args.wants(Only::Sig) {
        settings.push(format!(
            "signature bench {} x {} rounds",
            args.sig_iters, args.sig_rounds
        ));
    }
    settings.push(format!("{nproc} logical CPUs"));
    if args.quick {
        settings.push("**quick mode: a smoke run, figures not representative**".into());
    }
    writeln!(out, "Settings: {}.\n", settings.join("; ")).unwrap();
    writeln!(
        out,
        "### Summary\n\n| figure | measured | aim or reference |\n| --- | --- | --- |"
    )
    .unwrap();
    for [k, v, aim] in &rep.summary {
        writeln!(out, "| {k} | {v} | {aim} |").unwrap();
    }
    out.push('\n');
    out.push_str(&rep.details);
    print!("{out}");
    if rep.wrong_answers {
        eprintln!("loadgen: some throughput/latency answers were wrong or failed (see the tables)");
        1
    } else {
        0
    }
}

/// Phases 1 and 2: /healthz and sync throughput at the same concurrency.
async fn throughput_phase(ctx: &Arc<Ctx>, args: &Args, rep: &mut Report) -> (Run, Run) {
    let c = args.concurrency;
    // Alternating rounds share out the drift of a machine that other work
    // also uses; each round's ratio is kept to show the spread.
    let (mut hs, mut ss, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let h = measure(ctx, Route::Healthz, c, args).await;
        let s = measure(ctx, Route::Sync, c, args).await;
        ratios.push(s.rps() / h.rps());
        hs.push(h);
        ss.push(s);
    }
    let (h, s) = (Run::combine(hs), Run::combine(ss));
    let ratio = s.rps() / h.rps();
    let d = &mut rep.details;
    writeln!(
        d,
        "### Throughput at concurrency {c}\n\n{} alternating round{} of {} s per route.\n",
        args.rounds,
        if args.rounds == 1 { "" } else { "s" },
        args.duration
    )
    .unwrap();
    writeln!(
        d,
        "| route | requests | ok/s | wrong | failed | machine busy / loadgen cores |"
    )
    .unwrap();
    writeln!(d, "| --- | --- | --- | --- | --- | --- |").unwrap();
    for (route, r) in [(Route::Healthz, &h), (Route::Sync, &s)] {
        writeln!(
            d,
            "| {} | {} | {:.1} | {} | {} | {} |",
            route.label(),
            r.tally.answered(),
            r.rps(),
            r.tally.wrong,
            r.tally.failed,
            cpu_note(r.cpu)
        )
        .unwrap();
    }
    writeln!(
        d,
        "\nRatio of sync round trips/s to /healthz requests/s: **{ratio:.3}** (per round: {}).\n",
        ratios
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    for (route, r) in [(Route::Healthz, &h), (Route::Sync, &s)] {
        if r.tally.bad() > 0 {
            writeln!(d, "{}:{}\n", route.label(), problem_note(&r.tally)).unwrap();
        }
    }
    rep.figure(
        format!("/healthz requests/s (c={c})"),
        format!("{:.0}", h.rps()),
        "baseline",
    );
    rep.figure(
        format!("sync round trips/s (c={c})"),
        format!("{:.0}", s.rps()),
        "",
    );
    ratios.sort_by(f64::total_cmp);
    let spread = if ratios.len() > 1 {
        format!(
            " (rounds {:.3} to {:.3})",
            ratios[0],
            ratios[ratios.len() - 1]
        )
    } else {
        String::new()
    };
    rep.figure(
        "ratio sync / healthz",
        format!("{ratio:.3}{spread}"),
        "≥ 0.25",
    );
    rep.figure(
        "sync answers wrong or failed (throughput run)",
        format!("{} of {}", s.tally.bad(), s.tally.answered()),
        "0",
    );
    (h, s)
}

/// Phase 3: latency at each level; the throughput runs serve for their level.
async fn latency_phase(ctx: &Arc<Ctx>, args: &Args, at_c: (Run, Run), rep: &mut Report) {
    let mut at_c = Some(at_c);
    let mut rows = String::new();
    for &c in &args.levels {
        let (h, s) = match at_c.take_if(|_| c == args.concurrency) {
            Some(pair) => pair,
            None => {
                let h = measure(ctx, Route::Healthz, c, args).await;
                let s = measure(ctx, Route::Sync, c, args).await;
                (h, s)
            }
        };
        rep.wrong_answers |= h.tally.bad() > 0 || s.tally.bad() > 0;
        writeln!(
            rows,
            "| {c} | {} | {} | {} | {} | {:.0} | {:.0} | {} |",
            ms(s.pct_ms(0.5)),
            ms(s.pct_ms(0.99)),
            ms(h.pct_ms(0.5)),
            ms(h.pct_ms(0.99)),
            s.rps(),
            h.rps(),
            s.tally.bad()
        )
        .unwrap();
        rep.figure(
            format!(
                "added latency p50 / p99, {c} caller{} (ms)",
                if c == 1 { "" } else { "s" }
            ),
            format!("{} / {}", ms(s.pct_ms(0.5)), ms(s.pct_ms(0.99))),
            format!("/healthz {} / {}", ms(h.pct_ms(0.5)), ms(h.pct_ms(0.99))),
        );
    }
    if let Some((h, s)) = at_c {
        // The throughput concurrency was not a latency level; still check it.
        rep.wrong_answers |= h.tally.bad() > 0 || s.tally.bad() > 0;
    }
    let d = &mut rep.details;
    writeln!(d, "### Latency (ms) by concurrency\n").unwrap();
    writeln!(
        d,
        "The engine calls back at once, so a sync round trip's latency is the gateway's added latency \
         (plus loopback and the simulated engine's own work).\n"
    )
    .unwrap();
    writeln!(d, "| concurrent callers | sync p50 | sync p99 | /healthz p50 | /healthz p99 | sync ok/s | /healthz ok/s | sync wrong+failed |").unwrap();
    writeln!(d, "| --- | --- | --- | --- | --- | --- | --- | --- |").unwrap();
    d.push_str(&rows);
    d.push('\n');
}

/// Phase 4: parked capacity, step by step until a step loses a request.
async fn parked_phase(
    ctx: &Arc<Ctx>,
    procs: &Arc<WorkerProcs>,
    idle_files: Option<usize>,
    args: &Args,
    sync_rps: Option<f64>,
    rep: &mut Report,
) {
    let mut steps = Vec::new();
    for &n in &args.parked {
        // Objects of earlier runs hold files until workerd evicts them.
        settle(procs, idle_files).await;
        // Every caller must be parked before the first callback comes, so
        // the delay must outlast the ramp. Without a fixed delay, size it
        // from the measured round-trip rate (parking alone is faster).
        let delay_ms = args.park_delay_ms.unwrap_or_else(|| {
            let rate = sync_rps.unwrap_or(200.0).max(50.0);
            ((n as f64 / rate * 1.5 + 3.0) * 1000.0) as u64
        });
        let bound = Duration::from_secs(args.park_limit_s.unwrap_or(2 * delay_ms / 1000 + 60));
        let step = parked_step(ctx, procs, n, delay_ms, bound).await;
        let lost = step.lost();
        steps.push(step);
        if lost > 0 {
            break;
        }
    }
    let limit = procs.open_files_limit();
    let d = &mut rep.details;
    writeln!(d, "### Parked capacity\n").unwrap();
    writeln!(
        d,
        "Each task's callback comes `delay` after the engine receives it (engine mode `late`). \
         *Peak parked* is the most tasks the engine held at once whose callback the gateway had not yet \
         taken: callers parked at the same moment. *Lost* counts wrong answers, errors and callers cut off \
         unanswered; steps stop at the first loss. workerd's open-file limit here: {}.\n",
        opt(limit)
    )
    .unwrap();
    writeln!(d, "| N callers | delay | ok | wrong / failed / unanswered | peak parked | all parked after | wall time | workerd open files before → peak | workerd peak RSS | machine busy / loadgen cores |").unwrap();
    writeln!(
        d,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    .unwrap();
    for s in &steps {
        writeln!(
            d,
            "| {} | {:.1} s | {} | {} / {} / {} | {} | {} | {:.1} s | {} → {} | {} MiB | {} |",
            s.n,
            s.delay_ms as f64 / 1000.0,
            s.tally.ok,
            s.tally.wrong,
            s.tally.failed,
            s.unanswered,
            s.peak_parked,
            s.ramp
                .map_or("—".into(), |r| format!("{:.1} s", r.as_secs_f64())),
            s.wall.as_secs_f64(),
            opt(s.files_before),
            opt(s.files_peak),
            opt(s.rss_peak_mib),
            cpu_note(s.cpu)
        )
        .unwrap();
    }
    for s in steps.iter().filter(|s| s.lost() > 0) {
        write!(d, "\nN={}: lost {}.", s.n, s.lost()).unwrap();
        if let Some(c) = &s.cut {
            write!(d, " Step cut {c}.").unwrap();
        }
        if let (Some(peak), Some(lim)) = (s.files_peak, limit) {
            if peak as u64 * 100 >= lim * 95 {
                write!(d, " workerd reached its open-file limit ({peak} of {lim}).").unwrap();
            }
        }
        if s.tally.problems().any(|(_, p)| p.contains("SQLITE_NOMEM")) {
            write!(
                d,
                " workerd caps SQLite's heap at 512 MiB per process \
                 (`sqlite3_hard_heap_limit64` in `src/workerd/util/sqlite.c++`), and every parked \
                 request holds its own Durable Object's database open: past a few thousand, \
                 opening one more fails."
            )
            .unwrap();
        }
        writeln!(d, "{}", problem_note(&s.tally)).unwrap();
    }
    d.push('\n');
    let best = steps.iter().filter(|s| s.lost() == 0).max_by_key(|s| s.n);
    rep.figure(
        "parked at once, none lost",
        match best {
            Some(s) => format!(
                "{} (peak parked {}, wall {:.1} s)",
                s.n,
                s.peak_parked,
                s.wall.as_secs_f64()
            ),
            None => "none of the steps".into(),
        },
        "10,000",
    );
    if let Some(s) = steps.iter().find(|s| s.lost() > 0) {
        rep.figure(
            "first step with losses",
            format!(
                "N={}: {} ok, {} lost, peak parked {}",
                s.n,
                s.tally.ok,
                s.lost(),
                s.peak_parked
            ),
            format!(
                "workerd open files peak {} of {}",
                opt(s.files_peak),
                opt(limit)
            ),
        );
    }
}

/// Phase 5: signature checking vs raw SHA-1, native.
fn signature_phase(args: &Args, rep: &mut Report) {
    eprintln!(
        "loadgen: signature bench ({} iterations x {} rounds)",
        args.sig_iters, args.sig_rounds
    );
    let b = sig_bench(args.sig_iters, args.sig_rounds);
    let ratio = b.verify_per_s / b.sha1_per_s;
    let d = &mut rep.details;
    writeln!(d, "### Signature checking, native (no worker)\n").unwrap();
    writeln!(d, "| measure | value |\n| --- | --- |").unwrap();
    writeln!(
        d,
        "| body | {} bytes (plus a 10-byte time and a 34-byte secret, twice) |",
        b.body_len
    )
    .unwrap();
    writeln!(
        d,
        "| iterations | {} per side per round, {} rounds, order rotated |",
        b.iters, b.rounds
    )
    .unwrap();
    writeln!(
        d,
        "| `signature::verify` | {:.0} checks/s ({:.0} MB/s of body) |",
        b.verify_per_s,
        b.verify_per_s * b.body_len as f64 / 1e6
    )
    .unwrap();
    writeln!(
        d,
        "| raw `Sha1::digest` of the prebuilt `t+secret+body+secret` | {:.0} hashes/s |",
        b.sha1_per_s
    )
    .unwrap();
    writeln!(
        d,
        "| the same SHA-1 fed in four pieces, as verify does (no hex decode, no compare) | {:.0} hashes/s |",
        b.streamed_per_s
    )
    .unwrap();
    writeln!(
        d,
        "| naive check: concatenate, hash, hex-encode, compare | {:.0} checks/s |",
        b.naive_per_s
    )
    .unwrap();
    writeln!(d, "| **verify / raw sha1** (totals) | **{ratio:.3}** |").unwrap();
    writeln!(
        d,
        "| verify / raw sha1 (median round) | {:.3} |",
        b.median_ratio
    )
    .unwrap();
    writeln!(
        d,
        "| verify / naive check | {:.3} |\n",
        b.verify_per_s / b.naive_per_s
    )
    .unwrap();
    let label = args
        .label
        .as_deref()
        .map_or(String::new(), |l| format!(", {l}"));
    rep.figure(
        format!("signature verify / raw sha1 (native, ~1 KB body{label})"),
        format!("{ratio:.3}"),
        "≥ 0.9",
    );
}
