//! Figures for channels, outbound callbacks and eventing, each beside a
//! baseline measured in the same run (`GET /healthz` at the same
//! concurrency), against the real worker under workerd on loopback.
//!
//!   cargo run --release -p syncbridge-bench --bin flowbench -- [--quick]
//!
//! Prints a markdown section for bench/RESULTS.md. Every loop is bounded in
//! count and time; only 127.0.0.1 is contacted.

use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use syncbridge_tests::engine::Engine;
use syncbridge_tests::receiver::Receiver;
use syncbridge_tests::unique;
use syncbridge_tests::worker::Worker;

const ADMIN: &str = "flowbench-admin-token-0123456789";
const API: &str = "/rest/v1/service/integration_points";

/// p50 and p99 of durations, in milliseconds.
fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    if d.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.50), at(0.99))
}

/// Runs `total` requests made by `make`, `concurrency` at a time; returns
/// each latency, the wall time and how many answered `want`. The first
/// unexpected answer (status, transport error or timeout) goes to stderr.
async fn load<F, Fut>(
    total: usize,
    concurrency: usize,
    make: F,
    want: u16,
) -> (Vec<Duration>, Duration, usize)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<u16, String>>,
{
    let started = Instant::now();
    let results: Vec<(Duration, Result<u16, String>)> = futures::stream::iter(0..total)
        .map(|i| {
            let fut = make(i);
            async move {
                let t = Instant::now();
                let got = match tokio::time::timeout(Duration::from_secs(30), fut).await {
                    Ok(r) => r,
                    Err(_) => Err("no answer within 30 s".into()),
                };
                (t.elapsed(), got)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let bad: Vec<&Result<u16, String>> = results
        .iter()
        .map(|r| &r.1)
        .filter(|r| **r != Ok(want))
        .collect();
    if let Some(first) = bad.first() {
        eprintln!(
            "flowbench: {} of {total} unexpected (wanted {want}); first: {first:?}",
            bad.len()
        );
    }
    let ok = total - bad.len();
    (
        results.into_iter().map(|r| r.0).collect(),
        started.elapsed(),
        ok,
    )
}

async fn status(r: reqwest::RequestBuilder) -> Result<u16, String> {
    let resp = r.send().await.map_err(|e| format!("{e:?}"))?;
    let s = resp.status().as_u16();
    let _ = resp.bytes().await;
    Ok(s)
}

async fn create(http: &reqwest::Client, base: &str, body: Value) -> Value {
    http.post(format!("{base}{API}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("create a channel")
        .json()
        .await
        .expect("the channel")
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200 } else { 2000 };
    let engine = Engine::start(
        0,
        HashMap::from([("bench".to_string(), "flowbench-sync-secret".to_string())]),
    )
    .await;
    let receiver = Receiver::start_background();
    let vars = json!({
        "CALLBACK_SECRET": "flowbench-callback-secret-0123456789",
        "ADMIN_TOKEN": ADMIN,
        "CALLBACK_ALLOWED_HOSTS": "http://127.0.0.1",
        "PROCESS_ALLOWED_HOSTS": "http://127.0.0.1",
        "WS_MAX_CONNECTIONS": "5000",
        // Room for the 1,000-subscriber fan-out while the 100 of the round
        // before may still be closing.
        "WS_MAX_SUBSCRIBERS": "5000",
        "API_KEYS": json!({"bench": "flowbench-sync-secret"}).to_string(),
        "COREZOID_API_URL": engine.url(),
    });
    let worker = tokio::task::spawn_blocking(move || Worker::start(&vars))
        .await
        .unwrap();
    let base = worker.base.clone();
    // Idle connections are dropped after 2 s: Miniflare's server closes idle
    // keep-alive connections after 5 s, and a request sent on one just as it
    // closes fails (connection reset) before it reaches the worker.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    println!("## Channels, callbacks and eventing (`flowbench`)\n");
    println!("Command: `cargo run --release -p syncbridge-bench --bin flowbench{}`; {n} requests per row; 2 cores shared with the load generator.\n", if quick { " -- --quick" } else { "" });

    // ---- Issue 3: sync webhooks and the channel look-up ----------------
    let ch = create(
        &http,
        &base,
        json!({
            "code": unique("bench"), "recv_svcscriptcode": format!("{}/process/bare", engine.url()),
            "opts": {"issync": true},
        }),
    )
    .await;
    let hook = format!(
        "{base}/api/token/v1/{}",
        ch["token_local"].as_str().unwrap()
    );
    let unknown = format!("{base}/api/token/v1/{}", "0".repeat(32));
    let health = format!("{base}/healthz");
    let c = 50;
    let (hl, hw, hok) = load(n, c, |_| status(http.get(&health)), 200).await;
    let (wl, ww, wok) = load(n, c, |_| status(http.post(&hook).body("{}")), 200).await;
    let (sl, sw, sok) = load(
        n,
        c,
        |i| {
            let body = json!({"timeout": 30, "ops": [{"type": "create", "obj": "task", "conv_id": 1, "data": {"n": i}}]}).to_string();
            let url = syncbridge_tests::client::sync_url(&base, "bench", "flowbench-sync-secret", body.as_bytes());
            status(http.post(url).body(body))
        },
        200,
    )
    .await;
    let (s50, s99) = percentiles(sl);
    let (ul, uw, uok) = load(n, c, |_| status(http.get(&unknown)), 404).await;
    let none = create(
        &http,
        &base,
        json!({"code": unique("none"), "opts": {"issync": true}}),
    )
    .await;
    let none_hook = format!(
        "{base}/api/token/v1/{}",
        none["token_local"].as_str().unwrap()
    );
    let (nl, nw, nok) = load(n, c, |_| status(http.post(&none_hook).body("{}")), 502).await;
    let (n50, n99) = percentiles(nl);
    let async_hook = format!("{hook}?async=true");
    let (al, aw, aok) = load(n, c, |_| status(http.post(&async_hook).body("{}")), 200).await;
    let (a50, a99) = percentiles(al);
    let (h50, h99) = percentiles(hl);
    let (w50, w99) = percentiles(wl);
    let (u50, u99) = percentiles(ul);
    let rps = |k: usize, w: Duration| k as f64 / w.as_secs_f64();
    println!("### Sync webhooks (concurrency {c})\n");
    println!("The process answers at once (its own time is ~0), so a sync webhook's latency is what the gateway adds: event, forward, rendezvous, callback, answer, request record.\n");
    println!("| route | ok of {n} | req/s | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- |");
    println!(
        "| GET /healthz (baseline) | {hok} | {:.0} | {h50:.2} | {h99:.2} |",
        rps(hok, hw)
    );
    println!(
        "| sync webhook, process answers at once | {wok} | {:.0} | {w50:.2} | {w99:.2} |",
        rps(wok, ww)
    );
    println!(
        "| Sync API round trip, same engine (reference: rendezvous without D1) | {sok} | {:.0} | {s50:.2} | {s99:.2} |",
        rps(sok, sw)
    );
    println!(
        "| unknown token (channel look-up in D1, then 404) | {uok} | {:.0} | {u50:.2} | {u99:.2} |",
        rps(uok, uw)
    );
    println!(
        "| sync webhook to a channel with no process (look-up, 502, record after) | {nok} | {:.0} | {n50:.2} | {n99:.2} |",
        rps(nok, nw)
    );
    println!(
        "| async webhook (look-up, 200 at once; forward and record after) | {aok} | {:.0} | {a50:.2} | {a99:.2} |",
        rps(aok, aw)
    );
    println!("\nRatios to the baseline: sync webhook throughput {:.3}; channel look-up route throughput {:.3}, p50 +{:.2} ms over /healthz.\n",
        rps(wok, ww) / rps(hok, hw), rps(uok, uw) / rps(hok, hw), u50 - h50);

    // ---- Issue 4: deliveries ---------------------------------------------
    let key = unique("deliver");
    let out = create(&http, &base, json!({
        "code": unique("out"), "url": format!("{}/status/{key}?code=200", receiver.url()),
        "opts": {"callback": {"body": "{\"n\": @n}", "variables": ["n"], "headers": "Content-Type: application/json"}},
    }))
    .await;
    let send_url = format!("{base}{API}/{}/send", out["id"].as_str().unwrap());
    let deliveries = if quick { 100 } else { 500 };
    let started = Instant::now();
    let (_, _, accepted) = load(
        deliveries,
        20,
        |i| {
            let r = http
                .post(&send_url)
                .bearer_auth(ADMIN)
                .json(&json!({"variables": {"n": i}}));
            async move { status(r).await }
        },
        202,
    )
    .await;
    let hits = receiver
        .wait_hits(&key, deliveries, Duration::from_secs(120))
        .await;
    let wall = started.elapsed();
    // Queue latency: from the send's acceptance window to the receiver,
    // per delivery: hit time minus the send burst's start, minus the burst.
    let first = hits.first().map(|h| h.at).unwrap_or(started);
    let lat: Vec<Duration> = hits
        .iter()
        .map(|h| h.at.saturating_duration_since(started))
        .collect();
    let (l50, l99) = percentiles(lat);
    println!("### Outbound deliveries\n");
    println!("| figure | value |\n| --- | --- |");
    println!("| sends accepted (202) | {accepted} of {deliveries} |");
    println!(
        "| delivered to a receiver that accepts at once | {} of {deliveries} |",
        hits.len()
    );
    println!(
        "| deliveries per second (first send to last delivery) | {:.0} |",
        hits.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "| first delivery after the first send | {:.0} ms |",
        first.saturating_duration_since(started).as_secs_f64() * 1000.0
    );
    println!(
        "| time from the burst's start to each delivery, p50 / p99 | {l50:.0} / {l99:.0} ms |"
    );
    println!("\nThe queue's added latency is dominated by its batch timeout (`max_batch_timeout = 1` s in wrangler.toml): Miniflare, like Queues, waits up to that long to fill a batch of 10.\n");

    // ---- Issue 5: eventing -------------------------------------------------
    let ev = create(
        &http,
        &base,
        json!({"code": unique("ev"), "type": "eventing"}),
    )
    .await;
    let token = ev["token_local"].as_str().unwrap().to_string();
    let publish_url = format!("{base}{API}/{}/events", ev["id"].as_str().unwrap());
    let ws_url = format!(
        "{}/ws/token/v1/{token}/subscribe",
        base.replace("http://", "ws://")
    );
    println!("### Eventing fan-out\n");
    println!(
        "Latency from the publish request's start to each subscriber's receipt of that event.\n"
    );
    println!("| subscribers | received | p50 ms | p99 ms |\n| --- | --- | --- | --- |");
    let sizes: &[usize] = if quick { &[1, 100] } else { &[1, 100, 1000] };
    for &subs in sizes {
        let mut sockets = Vec::with_capacity(subs);
        for _ in 0..subs {
            let (ws, _) = tokio_tungstenite::connect_async(&ws_url)
                .await
                .expect("subscribe");
            sockets.push(ws);
        }
        let mut lat = Vec::new();
        let rounds = 5;
        for r in 0..rounds {
            let t0 = Instant::now();
            let resp = http
                .post(&publish_url)
                .bearer_auth(ADMIN)
                .json(&json!({"type": "bench.tick", "data": {"r": r}}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 202);
            let waits = sockets.iter_mut().map(|ws| async move {
                let got = tokio::time::timeout(Duration::from_secs(20), ws.next()).await;
                matches!(got, Ok(Some(Ok(_)))).then(|| t0.elapsed())
            });
            lat.extend(futures::future::join_all(waits).await.into_iter().flatten());
        }
        let (p50, p99) = percentiles(lat.clone());
        println!(
            "| {subs} | {} of {} | {p50:.2} | {p99:.2} |",
            lat.len(),
            subs * rounds
        );
        for mut ws in sockets {
            let _ = ws.close(None).await;
        }
    }
    let (_, pw, pok) = load(
        if quick { 200 } else { 1000 },
        10,
        |i| {
            let r = http
                .post(&publish_url)
                .bearer_auth(ADMIN)
                .json(&json!({"type": "bench.rate", "data": {"i": i}}));
            async move { status(r).await }
        },
        202,
    )
    .await;
    println!("\nEvents per second into one channel (10 publishers, 1 hub object): **{:.0}** ({pok} published); baseline /healthz above: {:.0} req/s.\n", rps(pok, pw), rps(hok, hw));
    drop(worker);
}
