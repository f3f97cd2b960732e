//! Parked at once (issue 12): N callers of one design parked on late
//! callbacks at the same moment, step by step, each design on a fresh
//! runtime per step, up to its first loss. The engine holds every task for
//! `delay` after it gets it, so the callers are all parked together when the
//! delay outlasts the ramp; the peak is read from the engine's own log.

use crate::{boxed, expect_status, Call};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use syncbridge_tests::client::sync_url;
use syncbridge_tests::engine::Engine;

/// After a step's first loss, how long its other callers may still finish.
const LOSS_GRACE: Duration = Duration::from_secs(5);
/// The bare pair gives up on a caller after 30 s (bench/bare/index.js):
/// the delay stays below it.
const MAX_DELAY_MS: u64 = 27_000;

/// One step of one design.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) design: &'static str,
    pub(crate) callers: usize,
    pub(crate) delay_ms: u64,
    pub(crate) ok: u64,
    /// Wrong answers, errors and callers cut off unanswered.
    pub(crate) lost: u64,
    /// Most tasks the engine held at once, not yet called back.
    pub(crate) peak_parked: usize,
    pub(crate) first_loss: Option<String>,
    pub(crate) wall_s: f64,
}

/// The delay for `n` callers: the ramp at `rate` per second, half as long
/// again, plus 3 s; at most [`MAX_DELAY_MS`].
pub(crate) fn delay_for(n: usize, rate: f64) -> u64 {
    (((n as f64 / rate.max(50.0)) * 1.5 + 3.0) * 1000.0).min(MAX_DELAY_MS as f64) as u64
}

/// The task data that makes the simulated engine call back late.
fn late(n: u64, delay_ms: u64) -> Value {
    json!({"n": n, "sim": {"mode": "late", "delay_ms": delay_ms}})
}

/// A bare store-first pair whose callback comes `delay_ms` late.
pub(crate) fn bare_pair(h: &reqwest::Client, base: &str, delay_ms: u64) -> Call {
    let (h, url) = (h.clone(), format!("{base}/pair/store"));
    Arc::new(move |n| {
        let r = h.post(&url).body(late(n, delay_ms).to_string());
        boxed(async move { echoed(expect_status(r, 200).await?, n, "echo") })
    })
}

/// A Sync API round trip whose callback comes `delay_ms` late.
pub(crate) fn round_trip(
    h: &reqwest::Client,
    base: &str,
    login: &'static str,
    secret: &'static str,
    delay_ms: u64,
) -> Call {
    let (h, base) = (h.clone(), base.to_owned());
    Arc::new(move |n| {
        let body = json!({"timeout": 120, "ops": [{"type": "create", "obj": "task", "conv_id": 1, "data": late(n, delay_ms)}]}).to_string();
        let r = h
            .post(sync_url(&base, login, secret, body.as_bytes()))
            .body(body);
        boxed(async move {
            let v = expect_status(r, 200).await?;
            // A refused op names its reason beside its data.
            echoed(v["ops"][0]["data"].clone(), n, "echo")
                .map_err(|_| format!("not my echo: {}", excerpt(&v["ops"][0].to_string())))
        })
    })
}

fn echoed(v: Value, n: u64, key: &str) -> Result<(), String> {
    (v[key]["n"] == n)
        .then_some(())
        .ok_or_else(|| format!("not my echo: {}", excerpt(&v.to_string())))
}

fn excerpt(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Fires `callers` calls at once and waits (bounded) for every answer.
pub(crate) async fn step(
    design: &'static str,
    call: &Call,
    engine: &Engine,
    first_n: u64,
    callers: usize,
    delay_ms: u64,
) -> Step {
    let bound = Duration::from_millis(delay_ms) * 2 + Duration::from_secs(60);
    let (received0, callbacks0) = {
        let log = engine.state.log.lock().unwrap();
        (log.received.len(), log.callbacks.len())
    };
    let start = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (state, done) = (engine.state.clone(), done.clone());
        std::thread::spawn(move || {
            let mut peak = 0usize;
            while !done.load(Ordering::Relaxed) && start.elapsed() < bound + LOSS_GRACE {
                let (received, answered) = {
                    let log = state.log.lock().unwrap();
                    (
                        log.received.len() - received0,
                        log.callbacks.len() - callbacks0,
                    )
                };
                peak = peak.max(received.saturating_sub(answered));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    #[derive(Default)]
    struct Tally {
        ok: u64,
        bad: u64,
        first_bad: Option<String>,
        first_bad_at: Option<Instant>,
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let tasks: Vec<_> = (0..callers as u64)
        .map(|i| {
            let (call, tally) = (call.clone(), tally.clone());
            tokio::spawn(async move {
                let got = tokio::time::timeout(bound, call(first_n + i))
                    .await
                    .unwrap_or_else(|_| Err("no answer within the bound".into()));
                let mut t = tally.lock().unwrap();
                match got {
                    Ok(()) => t.ok += 1,
                    Err(e) => {
                        t.bad += 1;
                        t.first_bad.get_or_insert(e);
                        t.first_bad_at.get_or_insert_with(Instant::now);
                    }
                }
            })
        })
        .collect();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = tally.lock().unwrap();
        if t.ok + t.bad == callers as u64
            || start.elapsed() >= bound
            || t.first_bad_at.is_some_and(|at| at.elapsed() >= LOSS_GRACE)
        {
            break;
        }
    }
    tasks.iter().for_each(|t| t.abort());
    let wall_s = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let peak_parked = tokio::task::spawn_blocking(move || monitor.join())
        .await
        .expect("join the monitor")
        .expect("the monitor panicked");
    let t = std::mem::take(&mut *tally.lock().unwrap());
    let s = Step {
        design,
        callers,
        delay_ms,
        ok: t.ok,
        lost: callers as u64 - t.ok,
        peak_parked,
        first_loss: t.first_bad,
        wall_s,
    };
    eprintln!(
        "barebench: parked {design} N={callers} delay {delay_ms} ms: ok {} lost {} peak parked {} wall {:.1} s",
        s.ok, s.lost, s.peak_parked, s.wall_s
    );
    s
}
