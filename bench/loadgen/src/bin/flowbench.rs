//! Figures for channels, outbound callbacks and eventing, each beside a
//! baseline measured in the same run (`GET /healthz` at the same
//! concurrency), against the real worker under workerd on loopback.
//!
//!   cargo run --release -p syncbridge-bench --bin flowbench -- [--quick] [--only fanout] [--fanout-rounds R] [--pin]
//!
//! `--pin` (with `taskset`, on a machine of 2 CPUs or more) pins both
//! workerd processes, the gateway's and the bare worker's, to CPU 0 and this
//! client to the others, so that the runtime and the client measuring it do
//! not take turns on one CPU.
//!
//! `--only fanout` runs the eventing fan-out part alone. Its baseline is the
//! bare design's hub (`bench/bare/index.js`: one object sending to its
//! hibernated sockets, nothing else), served by the same Miniflare and
//! workerd and received by the same client, in alternating rounds
//! (`--fanout-rounds`, 3) of 5 events each: the client's own floor shows in it.
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

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `n` WebSocket subscribers of `url`.
async fn subscribe(url: &str, n: usize) -> Vec<Ws> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(20),
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("subscribe within 20 s")
        .expect("subscribe");
        sockets.push(ws);
    }
    sockets
}

/// One fan-out round: `events` events published one after another by
/// `publish` (which answers the event's id), each awaited at every socket.
/// Returns each receipt's latency from the publish's start; an event counts
/// as received only with the published id, in increasing order per socket.
async fn fan_out_round<F, Fut>(sockets: &mut [Ws], events: usize, publish: F) -> Vec<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let mut lat = Vec::new();
    for e in 0..events {
        let t0 = Instant::now();
        let Some(id) = publish(e).await else {
            eprintln!("flowbench: a fan-out publish failed");
            continue;
        };
        let waits = sockets.iter_mut().map(|ws| {
            let id = id.clone();
            async move {
                let got = tokio::time::timeout(Duration::from_secs(20), ws.next()).await;
                let Ok(Some(Ok(msg))) = got else {
                    return None;
                };
                let at = t0.elapsed();
                let v: Value = serde_json::from_str(msg.to_text().unwrap_or("")).ok()?;
                (v["id"].as_str() == Some(id.as_str())).then_some(at)
            }
        });
        lat.extend(futures::future::join_all(waits).await.into_iter().flatten());
    }
    lat
}

/// The eventing fan-out table: the gateway's hub beside the bare one, to
/// 1, 100 and 1,000 subscribers (1 and 100 with `--quick`).
async fn fan_out(
    http: &reqwest::Client,
    base: &str,
    publish_url: &str,
    token: &str,
    bare: &str,
    sizes: &[usize],
    rounds: usize,
) {
    let gw_ws = format!(
        "{}/ws/token/v1/{token}/subscribe",
        base.replace("http://", "ws://")
    );
    let bare_ws = format!("{}/hub/subscribe", bare.replace("http://", "ws://"));
    let bare_publish = format!("{bare}/hub/publish");
    let events = 5;
    let raw = RawHub::start().await;
    println!("### Eventing fan-out\n");
    println!("Latency from the publish request's start to each subscriber's receipt of that event (its id checked), the gateway's hub beside the bare design's (`bench/bare`: one object sending to its hibernated sockets, nothing else), and the client's own floor (raw: a plain WebSocket server in the bench process, no workerd), same client, {rounds} alternating rounds of {events} events; load average before {}.\n", loadavg());
    println!("| subscribers | hub | received | p50 ms | p99 ms | p99 per round |\n| --- | --- | --- | --- | --- | --- |");
    for &subs in sizes {
        let mut gw = subscribe(&gw_ws, subs).await;
        let mut bw = subscribe(&bare_ws, subs).await;
        raw.clear().await;
        let mut rw = subscribe(&raw.url, subs).await;
        // Let the last upgrades settle before the first event.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (mut gl, mut bl) = (Vec::new(), Vec::new());
        let (mut g99, mut b99) = (Vec::new(), Vec::new());
        let (mut rl, mut r99) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            let got = fan_out_round(&mut gw, events, |e| {
                let req = http
                    .post(publish_url)
                    .bearer_auth(ADMIN)
                    .json(&json!({"type": "bench.tick", "data": {"r": r, "e": e}}));
                async move { published_id(req).await }
            })
            .await;
            g99.push(percentiles(got.clone()).1);
            gl.extend(got);
            let got = fan_out_round(&mut bw, events, |e| {
                let req = http
                    .post(&bare_publish)
                    .json(&json!({"type": "bench.tick", "data": {"r": r, "e": e}}));
                async move { published_id(req).await }
            })
            .await;
            b99.push(percentiles(got.clone()).1);
            bl.extend(got);
            let got = fan_out_round(&mut rw, events, |_| {
                let id = raw.publish();
                async move { Some(id) }
            })
            .await;
            r99.push(percentiles(got.clone()).1);
            rl.extend(got);
        }
        let row = |name: &str, lat: &[Duration], p99s: &[f64]| {
            let (p50, p99) = percentiles(lat.to_vec());
            let per: Vec<String> = p99s.iter().map(|p| format!("{p:.1}")).collect();
            println!(
                "| {subs} | {name} | {} of {} | {p50:.2} | {p99:.2} | {} |",
                lat.len(),
                subs * rounds * events,
                per.join(", ")
            );
        };
        row("gateway", &gl, &g99);
        row("bare", &bl, &b99);
        row("raw (no workerd)", &rl, &r99);
        for ws in gw.iter_mut().chain(bw.iter_mut()).chain(rw.iter_mut()) {
            let _ = ws.close(None).await;
        }
    }
    println!("\nLoad average after: {}.\n", loadavg());
}

/// The client's own floor: a plain WebSocket server in this process (no
/// workerd) that sends each event to every socket it accepted, one frame
/// after another, from a task of its own.
struct RawHub {
    url: String,
    sinks: std::sync::Arc<tokio::sync::Mutex<Vec<RawSink>>>,
    seq: std::sync::atomic::AtomicU64,
}

type RawSink = futures::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::Message,
>;

impl RawHub {
    async fn start() -> RawHub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let sinks = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let kept = sinks.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                        let (sink, mut stream) = ws.split();
                        kept.lock().await.push(sink);
                        // Drain what the client sends (its close).
                        while let Some(Ok(_)) = stream.next().await {}
                    }
                });
            }
        });
        RawHub {
            url,
            sinks,
            seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Numbers an event and starts sending it to every socket; its id.
    fn publish(&self) -> String {
        use futures::SinkExt;
        let id = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let text = json!({"id": id.to_string(), "type": "bench.tick", "data": {}}).to_string();
        let sinks = self.sinks.clone();
        tokio::spawn(async move {
            let mut sinks = sinks.lock().await;
            for sink in sinks.iter_mut() {
                let _ = sink
                    .send(tokio_tungstenite::tungstenite::Message::text(text.clone()))
                    .await;
            }
        });
        id.to_string()
    }

    /// Forgets the sockets of the last size.
    async fn clear(&self) {
        self.sinks.lock().await.clear();
    }
}

/// The id of the event a publish answered (202), if it did.
async fn published_id(req: reqwest::RequestBuilder) -> Option<String> {
    let resp = req.send().await.ok()?;
    if resp.status() != 202 {
        return None;
    }
    let v: Value = resp.json().await.ok()?;
    v["id"].as_str().map(str::to_owned)
}

/// The machine's load averages (1, 5, 15 min).
/// `--pin`: the workerd processes serving `bases` on CPU 0, this process
/// (the client, and the raw floor's server) on CPUs 1 and up. False, and
/// nothing pinned, when the machine has one CPU or a pin fails.
fn pin_apart(bases: &[&str]) -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("flowbench: --pin needs 2 CPUs or more; not pinned");
        return false;
    }
    let runtimes: Option<Vec<u32>> = bases
        .iter()
        .map(|b| syncbridge_bench::workerd_serving(b))
        .collect();
    let rest = format!("1-{}", cpus - 1);
    let ok = runtimes.is_some_and(|pids| pids.iter().all(|&p| syncbridge_bench::pin(p, "0")))
        && syncbridge_bench::pin(std::process::id(), &rest);
    if !ok {
        eprintln!("flowbench: --pin could not pin every process (is taskset installed?); the figures are not from a pinned run");
    }
    ok
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let quick = argv.iter().any(|a| a == "--quick");
    let flag = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1).cloned())
    };
    let only_fanout = match flag("--only").as_deref() {
        None => false,
        Some("fanout") => true,
        Some(other) => panic!("--only takes fanout, not {other}"),
    };
    let fanout_rounds: usize =
        flag("--fanout-rounds").map_or(3, |r| r.parse().expect("--fanout-rounds needs a number"));
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
    let bare_port = syncbridge_tests::worker::free_port();
    let engine_url = engine.url();
    let bare = tokio::task::spawn_blocking(move || {
        syncbridge_bench::Bare::start(&engine_url, bare_port, "bench", "flowbench-sync-secret")
    })
    .await
    .unwrap();
    let pinned = argv.iter().any(|a| a == "--pin") && pin_apart(&[&worker.base, &bare.base]);
    let base = worker.base.clone();
    // Idle connections are dropped after 2 s: Miniflare's server closes idle
    // keep-alive connections after 5 s, and a request sent on one just as it
    // closes fails (connection reset) before it reaches the worker.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let sizes: &[usize] = if quick { &[1, 100] } else { &[1, 100, 1000] };
    if only_fanout {
        let ev = create(
            &http,
            &base,
            json!({"code": unique("ev"), "type": "eventing"}),
        )
        .await;
        let publish_url = format!("{base}{API}/{}/events", ev["id"].as_str().unwrap());
        let token = ev["token_local"].as_str().unwrap();
        println!("## Eventing fan-out (`flowbench --only fanout`)\n");
        println!(
            "Command: `target/release/flowbench --only fanout --fanout-rounds {fanout_rounds}{}{}`.{}\n",
            if quick { " --quick" } else { "" },
            if pinned { " --pin" } else { "" },
            if pinned { " Both workerd processes on CPU 0, the client on the rest." } else { "" },
        );
        fan_out(
            &http,
            &base,
            &publish_url,
            token,
            &bare.base,
            sizes,
            fanout_rounds,
        )
        .await;
        drop(bare);
        drop(worker);
        return;
    }
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
    fan_out(
        &http,
        &base,
        &publish_url,
        &token,
        &bare.base,
        sizes,
        fanout_rounds,
    )
    .await;
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
    drop(bare);
    drop(worker);
}
