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
//!
//! Modules: [`args`] (the command line), [`procs`] (the worker's processes
//! and CPU counters), [`requests`] (one checked request, the tally),
//! [`closed_loop`] (phases 1 to 3), [`parked`] (phase 4), [`signature`]
//! (phase 5) and [`report`] (the markdown).

mod args;
mod closed_loop;
mod parked;
mod procs;
mod report;
mod requests;
mod signature;

use args::{die, Args, Only, Storage};
use closed_loop::{latency_phase, throughput_phase};
use parked::parked_phase;
use procs::WorkerProcs;
use report::{opt, Report};
use requests::Ctx;
use serde_json::json;
use signature::signature_phase;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use syncbridge_tests::engine::Engine;
use syncbridge_tests::worker::Worker;

pub(crate) const LOGIN: &str = "bench";
pub(crate) const SECRET: &str = "bench-secret-4f1c2e9a7d3b5c8e0a6f";
pub(crate) const CALLBACK_SECRET: &str = "bench-callback-secret-0123456789abcdef0123";
/// The `timeout` of the throughput and latency requests (seconds).
pub(crate) const SYNC_TIMEOUT_S: u64 = 30;
/// Hard cap on the requests of one closed-loop run, whatever its duration.
pub(crate) const MAX_REQUESTS_PER_RUN: u64 = 10_000_000;
/// Longest wait for one answer in a closed-loop run: the gateway answers by
/// `SYNC_TIMEOUT_S` plus its grace, so this only trips if the runtime hangs.
pub(crate) const REQUEST_BOUND: Duration = Duration::from_secs(SYNC_TIMEOUT_S + 15);
/// A parked step that has lost a request is cut this long after the loss:
/// it has failed already, and waiting out its bound would teach nothing.
pub(crate) const LOSS_GRACE: Duration = Duration::from_secs(10);
/// Longest wait for workerd to let go of the previous step's objects.
pub(crate) const SETTLE_MAX: Duration = Duration::from_secs(60);

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
            "PROCESS_ALLOWED_HOSTS": "http://127.0.0.1",
            "SYNC_MAX_TIMEOUT_S": "3600",
            "SIGNATURE_REPLAY_PROTECTION": args.replay_protection.to_string(),
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
