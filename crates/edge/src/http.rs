//! Small HTTP helpers shared by the handlers.

use serde_json::Value;
use syncbridge_core::error::{ApiError, Surface};
use worker::{Request, Response, Result};

pub fn json(status: u16, body: &Value) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

pub fn error(e: &ApiError, surface: Surface) -> Result<Response> {
    json(e.status, &e.to_json(surface))
}

/// Reads the whole body, refusing more than `max` bytes. A declared
/// `Content-Length` over the limit is refused before anything is read.
pub async fn read_body(req: &mut Request, max: usize) -> std::result::Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ApiError::too_large(max));
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| ApiError::format("request body could not be read"))?;
    if body.len() > max {
        return Err(ApiError::too_large(max));
    }
    Ok(body)
}

pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// A channel-API error: `{"error_code", "error_message"}` with its status.
pub fn rest_error(e: &syncbridge_core::error::RestError) -> Result<Response> {
    let mut resp = json(e.status, &e.to_json())?;
    if e.status == 401 {
        resp.headers_mut().set("WWW-Authenticate", "Bearer")?;
    }
    Ok(resp)
}

/// 16 bytes from the platform's CSPRNG.
pub fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("crypto.getRandomValues is available in workerd");
    b
}

/// The current time as ISO-8601 UTC with milliseconds.
pub fn now_iso() -> String {
    String::from(worker::js_sys::Date::new_0().to_iso_string())
}

/// The URL's query as decoded pairs, in order.
pub fn query_pairs(url: &worker::Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A JSON request from the worker to one of its Durable Objects (`base`
/// names the object kind in logs and traces; it is never fetched).
pub fn object_request(
    base: &str,
    method: worker::Method,
    path: &str,
    body: Option<String>,
) -> Result<Request> {
    let headers = worker::Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = worker::RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    Request::new_with_init(&format!("{base}{path}"), &init)
}
