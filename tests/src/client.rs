//! A Sync API client. Signatures are computed here from the documented
//! formula with the `sha1` crate, independently of syncbridge-core.

use serde_json::Value;
use sha1::{Digest, Sha1};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// `hex(sha1(unixtime + secret + body + secret))`.
pub fn corezoid_signature(unixtime: &str, secret: &str, body: &[u8]) -> String {
    let mut buf = Vec::new();
    buf.extend_from_slice(unixtime.as_bytes());
    buf.extend_from_slice(secret.as_bytes());
    buf.extend_from_slice(body);
    buf.extend_from_slice(secret.as_bytes());
    hex::encode(Sha1::digest(&buf))
}

/// The signed Sync API URL for `body` sent now.
pub fn sync_url(base: &str, login: &str, secret: &str, body: &[u8]) -> String {
    let unixtime = now_s().to_string();
    let signature = corezoid_signature(&unixtime, secret, body);
    format!("{base}/api/1/json/{login}/{unixtime}/{signature}")
}

/// Sends a signed Sync API call; returns the status and the JSON body.
pub async fn sync_call(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    secret: &str,
    body: &Value,
) -> (u16, Value) {
    let raw = body.to_string();
    let url = sync_url(base, login, secret, raw.as_bytes());
    post_raw(http, &url, raw.into_bytes()).await
}

/// POSTs raw bytes and reads a JSON answer (panics with the text if it is not JSON).
pub async fn post_raw(http: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("response body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("HTTP {status} answer is not JSON: {text:?}"));
    (status, json)
}
