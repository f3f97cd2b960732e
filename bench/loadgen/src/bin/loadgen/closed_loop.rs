//! Closed-loop runs (phases 1 to 3): callers sending back to back for a
//! while, the throughput comparison and the latency table.

use crate::args::Args;
use crate::procs::Cpu;
use crate::report::{cpu_note, ms, problem_note, Report};
use crate::requests::{Ctx, Outcome, Tally};
use crate::{MAX_REQUESTS_PER_RUN, REQUEST_BOUND, SYNC_TIMEOUT_S};
use futures::future::join_all;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The result of one closed-loop run.
#[derive(Default)]
pub(crate) struct Run {
    pub(crate) tally: Tally,
    pub(crate) elapsed: Duration,
    /// Latencies of the good requests, in microseconds, sorted.
    pub(crate) lat_us: Vec<u32>,
    /// (cores used by loadgen, machine busy fraction) during the run.
    pub(crate) cpu: (f64, f64),
}

impl Run {
    /// Several runs of the same route taken as one.
    pub(crate) fn combine(runs: Vec<Run>) -> Run {
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

    pub(crate) fn rps(&self) -> f64 {
        self.tally.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile in milliseconds (nearest rank).
    pub(crate) fn pct_ms(&self, q: f64) -> f64 {
        if self.lat_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * self.lat_us.len() as f64).ceil() as usize).clamp(1, self.lat_us.len());
        self.lat_us[rank - 1] as f64 / 1000.0
    }
}

/// Runs `concurrency` callers that each send `call` back to back until
/// `duration` has passed (or the run's request cap is reached).
pub(crate) async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Run
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
pub(crate) enum Route {
    Healthz,
    Sync,
}

impl Route {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Route::Healthz => "GET /healthz",
            Route::Sync => "sync round trip",
        }
    }
}

/// A warm-up run (discarded), then the measured run of `route`.
pub(crate) async fn measure(ctx: &Arc<Ctx>, route: Route, concurrency: usize, args: &Args) -> Run {
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

/// Phases 1 and 2: /healthz and sync throughput at the same concurrency.
pub(crate) async fn throughput_phase(ctx: &Arc<Ctx>, args: &Args, rep: &mut Report) -> (Run, Run) {
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
pub(crate) async fn latency_phase(ctx: &Arc<Ctx>, args: &Args, at_c: (Run, Run), rep: &mut Report) {
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
