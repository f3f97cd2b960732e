//! A loopback receiver of outbound callbacks. Each path names a behaviour
//! and a key; the receiver counts requests per key, so a test's behaviour
//! is its own:
//!
//! | path                          | answer                                                  |
//! |-------------------------------|---------------------------------------------------------|
//! | `/flaky/{key}?fail=N`         | 503 for the first N requests, then 200                  |
//! | `/status/{key}?code=C`        | always C                                                |
//! | `/retry-after/{key}?secs=S`   | 503 with `Retry-After: S` the first time, then 200      |
//! | `/redirect/{key}`             | 302 to `/status/{key}-target?code=200`                  |
//! | `/slow/{key}?ms=M`            | waits M ms, then 200                                    |

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub key: String,
    pub method: String,
    pub uri: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    hits: Vec<Hit>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// Starts on a runtime of its own that lives as long as the process.
    pub fn start_background() -> Receiver {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("receiver runtime");
            rt.block_on(async {
                let inner = Arc::new(Mutex::new(Inner::default()));
                // Bodies of any size are taken (axum refuses over 2 MiB by
                // default, before the handler could record the request).
                let app = Router::new()
                    .route("/{behavior}/{key}", any(handle))
                    .layer(axum::extract::DefaultBodyLimit::disable())
                    .with_state(inner.clone());
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                tx.send(Receiver { addr, inner }).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        rx.recv().expect("receiver started")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received for `key`, in order.
    pub fn hits(&self, key: &str) -> Vec<Hit> {
        let inner = self.inner.lock().unwrap();
        inner
            .hits
            .iter()
            .filter(|h| h.key == key)
            .cloned()
            .collect()
    }

    /// Waits until `key` has had `n` requests (or `timeout` passes).
    pub async fn wait_hits(&self, key: &str, n: usize, timeout: Duration) -> Vec<Hit> {
        let start = Instant::now();
        loop {
            let hits = self.hits(key);
            if hits.len() >= n || start.elapsed() > timeout {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((behavior, key)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = {
        let mut g = inner.lock().unwrap();
        g.hits.push(Hit {
            key: key.clone(),
            method: method.to_string(),
            uri: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
            body: body.to_vec(),
            at: Instant::now(),
        });
        g.hits.iter().filter(|h| h.key == key).count()
    };
    let num =
        |name: &str, default: u64| q.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    match behavior.as_str() {
        "flaky" if seen as u64 <= num("fail", 0) => {
            (StatusCode::SERVICE_UNAVAILABLE, "not yet").into_response()
        }
        "flaky" => (StatusCode::OK, "accepted").into_response(),
        "status" => {
            let code = StatusCode::from_u16(num("code", 200) as u16).unwrap_or(StatusCode::OK);
            (code, format!("status {code}")).into_response()
        }
        "retry-after" if seen == 1 => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", num("secs", 1).to_string())],
            "later",
        )
            .into_response(),
        "retry-after" => (StatusCode::OK, "accepted").into_response(),
        "redirect" => (
            StatusCode::FOUND,
            [("location", format!("/status/{key}-target?code=200"))],
            "moved",
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_millis(num("ms", 0))).await;
            (StatusCode::OK, "slowly accepted").into_response()
        }
        _ => (StatusCode::NOT_FOUND, "unknown behaviour").into_response(),
    }
}
