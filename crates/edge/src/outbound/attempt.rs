//! One delivery attempt over HTTP: the rendered request, signed when the
//! channel has a secret, redirects not followed, bounded in time.

use crate::clock::now_ms;
use std::time::Duration;
use syncbridge_core::outbound::{HttpMethod, Rendered};
use syncbridge_core::webhook;
use worker::{Delay, Fetch, Headers};

/// What one attempt got back.
pub struct AttemptResult {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub latency_ms: u64,
    pub error: Option<String>,
    pub retry_after: Option<String>,
}

impl AttemptResult {
    /// An attempt that was not made, with why.
    pub fn not_sent(error: String) -> Self {
        AttemptResult {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            latency_ms: 0,
            error: Some(error),
            retry_after: None,
        }
    }
}

/// One attempt: the rendered request, signed when the channel has a secret,
/// redirects not followed, bounded by `timeout_s`.
pub async fn attempt(r: &Rendered, secret: &str, msg_id: &str, timeout_s: u64) -> AttemptResult {
    let started = now_ms();
    let send = async {
        let headers = Headers::new();
        for (k, v) in &r.headers {
            headers.append(k, v)?;
        }
        if !secret.is_empty() {
            let ts = started / 1000;
            headers.set("webhook-id", msg_id)?;
            headers.set("webhook-timestamp", &ts.to_string())?;
            headers.set(
                "webhook-signature",
                &webhook::standard_signature(secret, msg_id, ts, r.body.as_bytes()),
            )?;
        }
        let body = (r.method != HttpMethod::Get).then_some(r.body.as_str());
        let req = crate::http::new_request(&r.url, r.method.as_str(), &headers, body, true)?;
        let resp = Fetch::Request(req).send().await?;
        let status = resp.status_code();
        let headers: Vec<(String, String)> = resp.headers().entries().collect();
        let body = crate::http::body_bytes(resp).await.unwrap_or_default();
        Ok::<_, worker::Error>((status, headers, body))
    };
    futures_util::pin_mut!(send);
    let timeout = Delay::from(Duration::from_secs(timeout_s));
    let outcome = futures_util::future::select(send, timeout).await;
    let latency_ms = now_ms().saturating_sub(started);
    match outcome {
        futures_util::future::Either::Left((Ok((status, headers, body)), _)) => {
            let header = |n: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.clone())
            };
            let error = (300..400).contains(&status).then(|| {
                format!(
                    "redirect to {} not followed",
                    header("location").unwrap_or_else(|| "(no location)".into())
                )
            });
            AttemptResult {
                status: Some(status),
                retry_after: header("retry-after"),
                headers,
                body,
                latency_ms,
                error,
            }
        }
        futures_util::future::Either::Left((Err(e), _)) => AttemptResult {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            latency_ms,
            error: Some(format!("receiver unreachable: {e}")),
            retry_after: None,
        },
        futures_util::future::Either::Right(_) => AttemptResult {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            latency_ms,
            error: Some(format!("no answer within {timeout_s} s")),
            retry_after: None,
        },
    }
}
