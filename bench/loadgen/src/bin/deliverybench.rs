//! Figures for the delivery controls of outbound callbacks, each beside a
//! baseline measured in the same run, against the real worker under workerd
//! on loopback with a loopback receiver:
//!
//! - send → first attempt, p50 / p99, at 50 concurrent sends (baseline:
//!   `GET /healthz` at the same concurrency);
//! - FIFO throughput to one fast receiver, as a ratio to unordered;
//! - throttle accuracy: a burst at `max_per_s` 20, its arrival rate, none lost;
//! - time from re-enabling a disabled destination to its first resumed attempt.
//!
//!   cargo run --release -p syncbridge-bench --bin deliverybench -- [--quick]
//!
//! Prints a markdown section for bench/RESULTS.md. Every loop is bounded in
//! count and time; only 127.0.0.1 is contacted.

use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use syncbridge_tests::receiver::{Hit, Receiver};
use syncbridge_tests::unique;
use syncbridge_tests::worker::Worker;

const ADMIN: &str = "deliverybench-admin-token-0123456789";
const API: &str = "/rest/v1/service/integration_points";
const PATIENCE: Duration = Duration::from_secs(180);

/// p50 and p99 of durations, in milliseconds.
fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    if d.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.50), at(0.99))
}

struct Bench {
    http: reqwest::Client,
    base: String,
    receiver: Receiver,
}

impl Bench {
    async fn channel(&self, path: &str, extra: Value) -> String {
        let mut callback = json!({"body": "@n", "variables": ["n"], "retry": {"schedule": "interval", "interval_s": 1, "max_attempts": 10}});
        for (k, v) in extra.as_object().unwrap() {
            callback[k] = v.clone();
        }
        let body = json!({
            "code": unique("bench"), "url": format!("{}{path}", self.receiver.url()),
            "opts": {"callback": callback},
        });
        let v: Value = self
            .http
            .post(format!("{}{API}", self.base))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .expect("create a channel")
            .json()
            .await
            .expect("the channel");
        v["id"].as_str().expect("a channel id").to_owned()
    }

    /// `total` sends of `n` = 0.. to `channel`, `concurrency` at a time;
    /// each send's start, by `n`, and how many were accepted.
    async fn sends(
        &self,
        channel: &str,
        total: usize,
        concurrency: usize,
    ) -> (Vec<Instant>, usize) {
        let (starts, _, ok) = self.timed_sends(channel, total, concurrency).await;
        (starts, ok)
    }

    /// As [`Bench::sends`], with each send's answer time too.
    async fn timed_sends(
        &self,
        channel: &str,
        total: usize,
        concurrency: usize,
    ) -> (Vec<Instant>, Vec<Instant>, usize) {
        let url = format!("{}{API}/{channel}/send", self.base);
        let results: Vec<(usize, Instant, Instant, bool)> = futures::stream::iter(0..total)
            .map(|n| {
                let rb = self
                    .http
                    .post(&url)
                    .bearer_auth(ADMIN)
                    .json(&json!({"variables": {"n": n}}));
                async move {
                    let t = Instant::now();
                    let ok = matches!(
                        tokio::time::timeout(Duration::from_secs(30), rb.send()).await,
                        Ok(Ok(r)) if r.status().as_u16() == 202
                    );
                    (n, t, Instant::now(), ok)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut starts = vec![Instant::now(); total];
        let mut answers = starts.clone();
        let mut ok = 0;
        for (n, t, answered, good) in results {
            starts[n] = t;
            answers[n] = answered;
            ok += usize::from(good);
        }
        (starts, answers, ok)
    }

    /// An admin request; a connection the local server reset while idle is
    /// retried (a few times) rather than taken as an answer.
    async fn admin(&self, method: reqwest::Method, path: &str) -> Value {
        for _ in 0..5 {
            let sent = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(ADMIN)
                .send()
                .await;
            if let Ok(resp) = sent {
                return resp.json().await.unwrap_or(Value::Null);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no answer to {path}")
    }
}

/// Each hit's `n` (its body).
fn number(h: &Hit) -> Option<usize> {
    std::str::from_utf8(&h.body).ok()?.trim().parse().ok()
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let receiver = Receiver::start_background();
    let vars = json!({
        "CALLBACK_SECRET": "deliverybench-callback-secret-0123456789",
        "ADMIN_TOKEN": ADMIN,
        "CALLBACK_ALLOWED_HOSTS": "http://127.0.0.1",
        "PROCESS_ALLOWED_HOSTS": "http://127.0.0.1",
    });
    let worker = tokio::task::spawn_blocking(move || Worker::start(&vars))
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let b = Bench {
        http,
        base: worker.base.clone(),
        receiver,
    };
    println!("## Delivery controls\n");
    println!(
        "`cargo run --release -p syncbridge-bench --bin deliverybench{}` ({}).\n",
        if quick { " -- --quick" } else { "" },
        syncbridge_bench::machine()
    );

    // ---- send → first attempt at 50 concurrent sends ------------------------
    let total = if quick { 200 } else { 1000 };
    let healthz: Vec<Duration> = futures::stream::iter(0..total)
        .map(|_| {
            let rb = b.http.get(format!("{}/healthz", b.base));
            async move {
                let t = Instant::now();
                let _ = rb.send().await.map(|r| r.status());
                t.elapsed()
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let (h50, h99) = percentiles(healthz);
    let key = unique("first");
    let ch = b
        .channel(&format!("/status/{key}?code=200"), json!({}))
        .await;
    let (starts, answers, accepted) = b.timed_sends(&ch, total, 50).await;
    let hits = b.receiver.wait_hits(&key, total, PATIENCE).await;
    let mut firsts: HashMap<usize, Instant> = HashMap::new();
    for h in &hits {
        if let Some(n) = number(h) {
            firsts.entry(n).or_insert(h.at);
        }
    }
    let lat: Vec<Duration> = firsts
        .iter()
        .map(|(n, at)| at.saturating_duration_since(starts[*n]))
        .collect();
    let (f50, f99) = percentiles(lat);
    let answered: Vec<Duration> = starts
        .iter()
        .zip(&answers)
        .map(|(s, a)| a.saturating_duration_since(*s))
        .collect();
    let (a50, a99) = percentiles(answered);
    let after: Vec<Duration> = firsts
        .iter()
        .map(|(n, at)| at.saturating_duration_since(answers[*n]))
        .collect();
    let (x50, x99) = percentiles(after);
    // Baseline: `…/send/test`, which makes its one attempt inline (render
    // and fetch, nothing stored), from its start to the receiver.
    let key = unique("inline");
    let test_ch = b
        .channel(&format!("/status/{key}?code=200"), json!({}))
        .await;
    let url = format!("{}{API}/{test_ch}/send/test", b.base);
    let inline: Vec<(usize, Instant)> = futures::stream::iter(0..total)
        .map(|n| {
            let rb = b
                .http
                .post(&url)
                .bearer_auth(ADMIN)
                .json(&json!({"variables": {"n": n}}));
            async move {
                let t = Instant::now();
                let _ = rb.send().await;
                (n, t)
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let inline_starts: HashMap<usize, Instant> = inline.into_iter().collect();
    let inline_lat: Vec<Duration> = b
        .receiver
        .wait_hits(&key, total, PATIENCE)
        .await
        .iter()
        .filter_map(|h| Some(h.at.saturating_duration_since(*inline_starts.get(&number(h)?)?)))
        .collect();
    let (i50, i99) = percentiles(inline_lat);
    println!("| figure | value | baseline in the same run | ratio |\n| --- | --- | --- | --- |");
    println!(
        "| send → first attempt at the receiver, 50 concurrent sends, p50 / p99 ({accepted} of {total} accepted, {} attempted) | {f50:.1} / {f99:.1} ms | `GET /healthz` at 50 concurrent: {h50:.1} / {h99:.1} ms | {:.2} / {:.2} |",
        firsts.len(),
        f50 / h50,
        f99 / h99
    );
    println!(
        "| of which: the send's own answer (202), p50 / p99; then 202 → first attempt | {a50:.1} / {a99:.1} ms; then {x50:.1} / {x99:.1} ms | | |"
    );
    println!(
        "| the same against `…/send/test` at 50 concurrent (one inline attempt, nothing stored: the floor) | {f50:.1} / {f99:.1} ms | `send/test` start → its attempt: {i50:.1} / {i99:.1} ms | {:.2} / {:.2} |",
        f50 / i50,
        f99 / i99
    );

    // ---- FIFO throughput to one fast receiver, vs unordered ---------------------
    let total = if quick { 100 } else { 400 };
    let mut rates = Vec::new();
    for extra in [json!({}), json!({"ordering": "fifo"})] {
        let key = unique("tput");
        let ch = b.channel(&format!("/status/{key}?code=200"), extra).await;
        let started = Instant::now();
        let (_, accepted) = b.sends(&ch, total, 20).await;
        let hits = b.receiver.wait_hits(&key, accepted, PATIENCE).await;
        let last = hits.iter().map(|h| h.at).max().unwrap_or(started);
        let wall = last.saturating_duration_since(started).as_secs_f64();
        rates.push((hits.len(), hits.len() as f64 / wall, accepted));
    }
    let (unordered, fifo) = (rates[0], rates[1]);
    println!(
        "| FIFO throughput to one fast receiver, {total} sends 20 at a time (first send to last delivery) | {:.0} deliveries/s ({} delivered of {} accepted) | unordered: {:.0} deliveries/s ({} delivered of {} accepted) | {:.2} |",
        fifo.1, fifo.0, fifo.2, unordered.1, unordered.0, unordered.2, fifo.1 / unordered.1
    );

    // ---- throttle accuracy -----------------------------------------------------
    let total = if quick { 100 } else { 500 };
    let key = unique("throttle");
    let ch = b
        .channel(&format!("/status/{key}?code=200"), json!({"max_per_s": 20}))
        .await;
    let (_, accepted) = b.sends(&ch, total, 50).await;
    let hits = b.receiver.wait_hits(&key, total, PATIENCE).await;
    let mut distinct: Vec<usize> = hits.iter().filter_map(number).collect();
    distinct.sort();
    distinct.dedup();
    let span = hits
        .last()
        .zip(hits.first())
        .map(|(l, f)| l.at.saturating_duration_since(f.at).as_secs_f64())
        .unwrap_or(f64::NAN);
    let rate = (hits.len().saturating_sub(1)) as f64 / span;
    let busiest = hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            hits[i..]
                .iter()
                .filter(|o| o.at.saturating_duration_since(h.at) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    println!(
        "| throttle `max_per_s: 20`, a burst of {total} sends (50 at a time): arrival rate, first to last attempt | {rate:.2} attempts/s over {span:.1} s; busiest second {busiest}; {} of {total} delivered ({accepted} accepted, {} distinct) | the limit: 20/s | {:.3} |",
        hits.len(),
        distinct.len(),
        rate / 20.0
    );

    // ---- re-enable → first resumed attempt -------------------------------------
    let rounds = if quick { 3 } else { 10 };
    let mut resumed = Vec::new();
    for _ in 0..rounds {
        let key = unique("reenable");
        // The first request fails: one failure disables the destination.
        let ch = b
            .channel(&format!("/flaky/{key}?fail=1"), json!({"disable_after": 1}))
            .await;
        // One send fails and disables it; two more wait, due at once.
        b.sends(&ch, 1, 1).await;
        let path = format!("{API}/{ch}/destination");
        let deadline = Instant::now() + Duration::from_secs(30);
        while b.admin(reqwest::Method::GET, &path).await["state"] != "disabled"
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        b.sends(&ch, 2, 2).await;
        let before = b.receiver.hits(&key).len();
        let t0 = Instant::now();
        b.admin(reqwest::Method::POST, &format!("{path}/enable"))
            .await;
        let hits = b
            .receiver
            .wait_hits(&key, before + 1, Duration::from_secs(30))
            .await;
        if let Some(h) = hits.get(before) {
            resumed.push(h.at.saturating_duration_since(t0));
        }
        b.receiver
            .wait_hits(&key, 3 + 1, Duration::from_secs(30))
            .await;
    }
    let (r50, _) = percentiles(resumed.clone());
    let worst = resumed
        .iter()
        .max()
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    println!(
        "| re-enable (`POST …/destination/enable` sent) → first resumed attempt at the receiver, {} rounds | p50 {r50:.1} ms, worst {worst:.1} ms | `GET /healthz` p50 above: {h50:.1} ms | {:.2} |",
        resumed.len(),
        r50 / h50
    );
    println!(
        "\nThe first attempt is made by the send itself right after its 202 (`wait_until`), so it no longer waits for a queue batch (`max_batch_timeout = 1` s). FIFO runs one delivery at a time through the channel's `Destination` Durable Object (an attempt and its D1 record per delivery, in turn); unordered runs them side by side, so the ratio is the price of order. The throttle schedules attempt starts 50 ms apart in that object, across isolates (a late timer does not push the later starts back; no two starts come within 25 ms); the busiest second counts the attempts in any 1 s window.\n"
    );
    drop(worker);
}
