//! The requests loadgen sends, each checked, and the tally of their outcomes.

use crate::{LOGIN, SECRET};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use syncbridge_tests::client::sync_url;
use syncbridge_tests::engine::Engine;

/// How one request ended.
pub(crate) enum Outcome {
    /// The expected answer.
    Ok,
    /// An answer came, but not the expected one (wrong echo, op error, …).
    Wrong(String),
    /// No usable answer: transport error, timeout, non-JSON.
    Failed(String),
}

/// Counts of outcomes, with the first problem of each kind kept as an example.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) ok: u64,
    pub(crate) wrong: u64,
    pub(crate) failed: u64,
    pub(crate) first_wrong: Option<String>,
    pub(crate) first_failed: Option<String>,
    pub(crate) first_loss_at: Option<Instant>,
}

impl Tally {
    pub(crate) fn add(&mut self, o: Outcome) {
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

    pub(crate) fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.wrong += other.wrong;
        self.failed += other.failed;
        self.first_wrong = self.first_wrong.take().or(other.first_wrong);
        self.first_failed = self.first_failed.take().or(other.first_failed);
    }

    /// The first wrong answer and the first failure, labelled.
    pub(crate) fn problems(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("First wrong answer", &self.first_wrong),
            ("First failure", &self.first_failed),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_deref()?)))
    }

    pub(crate) fn bad(&self) -> u64 {
        self.wrong + self.failed
    }

    pub(crate) fn answered(&self) -> u64 {
        self.ok + self.bad()
    }
}

pub(crate) fn excerpt(s: &str) -> String {
    s.chars().take(240).collect()
}

pub(crate) struct Ctx {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) engine: Engine,
    /// Source of unique `n` values, so every caller can recognise its own echo.
    pub(crate) seq: AtomicU64,
}

impl Ctx {
    pub(crate) async fn healthz(&self) -> Outcome {
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
    pub(crate) async fn sync(&self, timeout_s: u64, sim: Option<&Value>) -> Outcome {
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
