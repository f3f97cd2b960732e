//! Parked capacity (phase 4): N callers parked at once on late callbacks,
//! step by step until a step loses a request.

use crate::args::Args;
use crate::procs::{Cpu, WorkerProcs};
use crate::report::{cpu_note, opt, problem_note, Report};
use crate::requests::{Ctx, Tally};
use crate::{LOSS_GRACE, SETTLE_MAX};
use serde_json::json;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct ParkedStep {
    pub(crate) callers: usize,
    pub(crate) delay_ms: u64,
    pub(crate) tally: Tally,
    /// Callers still waiting when the step was cut (time bound, or a loss).
    pub(crate) unanswered: u64,
    /// Why the step was cut short, if it was.
    pub(crate) cut: Option<String>,
    /// Most tasks the engine held at once whose callback the gateway had not
    /// yet answered: callers parked at the same moment.
    pub(crate) peak_parked: usize,
    /// Time until the engine had all N tasks, i.e. every caller was parked.
    pub(crate) ramp: Option<Duration>,
    pub(crate) wall: Duration,
    pub(crate) cpu: (f64, f64),
    /// workerd's open files before the step and at most during it.
    pub(crate) files_before: Option<usize>,
    pub(crate) files_peak: Option<usize>,
    pub(crate) rss_peak_mib: Option<u64>,
}

impl ParkedStep {
    pub(crate) fn lost(&self) -> u64 {
        self.tally.bad() + self.unanswered
    }
}

#[derive(Default)]
pub(crate) struct Peaks {
    pub(crate) parked: usize,
    pub(crate) ramp: Option<Duration>,
    pub(crate) files: Option<usize>,
    pub(crate) rss_mib: Option<u64>,
}

/// Fires `n` concurrent callers whose callbacks come `delay_ms` after the
/// engine gets each task, and counts the ones answered with their own echo.
pub(crate) async fn parked_step(
    ctx: &Arc<Ctx>,
    procs: &Arc<WorkerProcs>,
    caller_count: usize,
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
                if p.ramp.is_none() && received >= caller_count {
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
    let callers: Vec<_> = (0..caller_count)
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
        if t.answered() == caller_count as u64 {
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
    let step = ParkedStep {
        callers: caller_count,
        delay_ms,
        unanswered: caller_count as u64 - tally.answered(),
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
        "loadgen: parked N={caller_count:<6} delay {delay_ms} ms: ok {} lost {} peak parked {} workerd files {:?} wall {:.1} s",
        step.tally.ok,
        step.lost(),
        step.peak_parked,
        step.files_peak,
        wall.as_secs_f64()
    );
    for (kind, p) in step.tally.problems() {
        eprintln!("loadgen:   {kind}: {p}");
    }
    step
}

/// Waits (bounded) until workerd has closed most of the files it opened for
/// the objects of earlier requests, so each step starts from a clean slate.
pub(crate) async fn settle(procs: &WorkerProcs, baseline: Option<usize>) {
    let (Some(base), Some(pid)) = (baseline, procs.workerd) else {
        tokio::time::sleep(Duration::from_secs(2)).await;
        return;
    };
    let every = Duration::from_millis(500);
    syncbridge_bench::settle_open_files(pid, base + 100, SETTLE_MAX, every).await;
}

/// Phase 4: parked capacity, step by step until a step loses a request.
pub(crate) async fn parked_phase(
    ctx: &Arc<Ctx>,
    procs: &Arc<WorkerProcs>,
    idle_files: Option<usize>,
    args: &Args,
    sync_rps: Option<f64>,
    rep: &mut Report,
) {
    let mut steps = Vec::new();
    for &caller_count in &args.parked {
        // Objects of earlier runs hold files until workerd evicts them.
        settle(procs, idle_files).await;
        // Every caller must be parked before the first callback comes, so
        // the delay must outlast the ramp. Without a fixed delay, size it
        // from the measured round-trip rate (parking alone is faster).
        let delay_ms = args.park_delay_ms.unwrap_or_else(|| {
            let rate = sync_rps.unwrap_or(200.0).max(50.0);
            ((caller_count as f64 / rate * 1.5 + 3.0) * 1000.0) as u64
        });
        let bound = Duration::from_secs(args.park_limit_s.unwrap_or(2 * delay_ms / 1000 + 60));
        let step = parked_step(ctx, procs, caller_count, delay_ms, bound).await;
        let lost = step.lost();
        steps.push(step);
        if lost > 0 {
            break;
        }
    }
    let limit = procs.open_files_limit();
    let details = &mut rep.details;
    writeln!(details, "### Parked capacity\n").unwrap();
    writeln!(
        details,
        "Each task's callback comes `delay` after the engine receives it (engine mode `late`). \
         *Peak parked* is the most tasks the engine held at once whose callback the gateway had not yet \
         taken: callers parked at the same moment. *Lost* counts wrong answers, errors and callers cut off \
         unanswered; steps stop at the first loss. workerd's open-file limit here: {}.\n",
        opt(limit)
    )
    .unwrap();
    writeln!(details, "| N callers | delay | ok | wrong / failed / unanswered | peak parked | all parked after | wall time | workerd open files before → peak | workerd peak RSS | machine busy / loadgen cores |").unwrap();
    writeln!(
        details,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    .unwrap();
    for s in &steps {
        writeln!(
            details,
            "| {} | {:.1} s | {} | {} / {} / {} | {} | {} | {:.1} s | {} → {} | {} MiB | {} |",
            s.callers,
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
        write!(details, "\nN={}: lost {}.", s.callers, s.lost()).unwrap();
        if let Some(c) = &s.cut {
            write!(details, " Step cut {c}.").unwrap();
        }
        if let (Some(peak), Some(lim)) = (s.files_peak, limit) {
            if peak as u64 * 100 >= lim * 95 {
                write!(
                    details,
                    " workerd reached its open-file limit ({peak} of {lim})."
                )
                .unwrap();
            }
        }
        if s.tally.problems().any(|(_, p)| p.contains("SQLITE_NOMEM")) {
            write!(
                details,
                " workerd caps SQLite's heap at 512 MiB per process \
                 (`sqlite3_hard_heap_limit64` in `src/workerd/util/sqlite.c++`), and every parked \
                 request holds its own Durable Object's database open: past a few thousand, \
                 opening one more fails."
            )
            .unwrap();
        }
        writeln!(details, "{}", problem_note(&s.tally)).unwrap();
    }
    details.push('\n');
    let best = steps
        .iter()
        .filter(|s| s.lost() == 0)
        .max_by_key(|s| s.callers);
    rep.figure(
        "parked at once, none lost",
        match best {
            Some(s) => format!(
                "{} (peak parked {}, wall {:.1} s)",
                s.callers,
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
                s.callers,
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
