//! HTTP at the worker's edge: the one result type every handler returns,
//! its conversion to a response, JSON answers and body reading.

use futures_util::StreamExt;
use serde_json::Value;
use syncbridge_core::body_limit::{BodyLimit, Plan};
use syncbridge_core::error::{ApiError, RestError, Surface};
use syncbridge_core::log_line;
pub use syncbridge_core::log_line::Field;
use syncbridge_core::sync_api::SignedBody;
use worker::worker_sys::web_sys;
use worker::{js_sys, wasm_bindgen, wasm_bindgen_futures, Request, Response};

/// Why a handler did not answer normally. Every handler returns
/// [`Handled`]; [`Failure::into_response`] is the one place a failure
/// becomes an answer.
#[derive(Debug)]
pub enum Failure {
    /// A caller-facing error of the channel API's shape
    /// (`{"error_code", "error_message"}`).
    Rest(RestError),
    /// A caller-facing error of the Sync API's or the plugins' shape.
    Api(ApiError, Surface),
    /// A platform failure no caller caused: logged in full, answered with a
    /// generic 500 that says where to look.
    Internal(worker::Error),
}

/// What every handler returns.
pub type Handled = Result<Response, Failure>;

impl From<RestError> for Failure {
    fn from(e: RestError) -> Self {
        Failure::Rest(e)
    }
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Self {
        Failure::Internal(e)
    }
}

impl Failure {
    /// A Sync API error.
    pub fn sync_api(e: ApiError) -> Self {
        Failure::Api(e, Surface::SyncApi)
    }

    /// A plugin-route error (callbacks, unknown routes).
    pub fn plugin(e: ApiError) -> Self {
        Failure::Api(e, Surface::Plugin)
    }

    /// The answer; `log_id` and `route` name the failure's log line. Every
    /// answer with a status of 500 or more gets one `{"log":"error"}` line:
    /// a platform failure in full (the caller gets a generic 500 that says
    /// where to look), and a caller-facing 5xx (a `config_error`, a 502 from a
    /// process, a 503) with its status and message.
    pub fn into_response(self, log_id: &str, route: &str) -> worker::Result<Response> {
        let log = |status: u16, error: &str| {
            log_error(&[
                ("log", Field::Str("error")),
                ("id", Field::Str(log_id)),
                ("route", Field::Str(route)),
                ("status", Field::Num(status.into())),
                ("error", Field::Str(error)),
            ]);
        };
        match self {
            Failure::Rest(e) => {
                if e.status >= 500 {
                    log(e.status, &e.error_message);
                }
                rest_error(&e)
            }
            Failure::Api(e, surface) => {
                if e.status >= 500 {
                    log(e.status, &e.description);
                }
                error(&e, surface)
            }
            Failure::Internal(e) => {
                log(500, &e.to_string());
                // The details stay in the log; the caller gets a stable JSON error.
                error(&internal_error(), Surface::Plugin)
            }
        }
    }
}

/// The generic 500 of a platform failure: its details are only in the log.
fn internal_error() -> ApiError {
    ApiError::new(
        500,
        "internal_error",
        "Internal error; see the gateway's logs",
    )
}

/// One log line of `fields`, in order, on the console's error stream
/// (written as text by `core::log_line::fields`).
pub fn log_error(fields: &[(&str, Field<'_>)]) {
    worker::console_error!("{}", log_line::fields(fields));
}

/// One log line of `fields`, in order, on the console's log stream.
pub fn log_info(fields: &[(&str, Field<'_>)]) {
    worker::console_log!("{}", log_line::fields(fields));
}

/// Logs a platform failure that no caller caused, with its details (a
/// driver's or the runtime's own text), as one `{"log":"error"}` line; the
/// answer says only where to look (see [`internal`]).
pub fn log_failure(source: &str, detail: &str) {
    log_error(&[
        ("log", Field::Str("error")),
        ("source", Field::Str(source)),
        ("error", Field::Str(detail)),
    ]);
}

/// A platform failure inside a channel-API handler: logged with its details
/// ([`log_failure`]) and answered in that API's shape with a generic 500
/// (`error_code` 1500) that carries none of them.
pub fn internal(e: worker::Error) -> RestError {
    log_failure("runtime", &e.to_string());
    RestError::internal(internal_error().description)
}

/// The answer of `GET /healthz`: `{"proc":"ok"}`, from a constant.
pub fn health() -> worker::Result<Response> {
    Ok(worker::ResponseBuilder::new()
        .with_header("content-type", "application/json")?
        .fixed(br#"{"proc":"ok"}"#.to_vec()))
}

/// A JSON answer.
pub fn json(status: u16, body: &Value) -> worker::Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// A JSON answer whose body is already JSON text.
pub fn json_text(status: u16, body: String) -> worker::Result<Response> {
    Ok(worker::ResponseBuilder::new()
        .with_status(status)
        .with_header("content-type", "application/json")?
        .fixed(body.into_bytes()))
}

/// A JSON answer inside a channel-API handler.
pub fn rest_json(status: u16, body: &Value) -> Result<Response, RestError> {
    json(status, body).map_err(internal)
}

/// An empty answer with `status`.
pub fn empty(status: u16) -> worker::Result<Response> {
    Ok(Response::empty()?.with_status(status))
}

/// An error of the Sync API's or the plugins' shape.
pub fn error(e: &ApiError, surface: Surface) -> worker::Result<Response> {
    json(e.status, &e.to_json(surface))
}

/// A channel-API error: `{"error_code", "error_message"}` with its status.
pub fn rest_error(e: &RestError) -> worker::Result<Response> {
    let mut resp = json(e.status, &e.to_json())?;
    if e.status == 401 {
        resp.headers_mut().set("WWW-Authenticate", "Bearer")?;
    }
    Ok(resp)
}

/// Reads the whole body, refusing more than `max` bytes, as
/// `core::body_limit` decides: a declared length over it before anything
/// is read; one within it in one call to the runtime (`arrayBuffer()`); a
/// body without one as a stream, cut off at the chunk that passes it.
pub async fn read_body(req: &mut Request, max: usize) -> Result<Vec<u8>, ApiError> {
    read_body_into(req, max, Vec::new()).await
}

/// Where a body is read to: a plain buffer, or a Sync API call's
/// [`SignedBody`] (the body between the time and the secret it is signed
/// with, so the check hashes one buffer).
pub trait BodySink {
    /// Room for `len` more bytes (a declared `Content-Length`).
    fn reserve(&mut self, len: usize);
    /// Appends a chunk.
    fn extend(&mut self, chunk: &[u8]);
    /// `len` more bytes, zeroed, for a copy out of the runtime.
    fn tail(&mut self, len: usize) -> &mut [u8];
}

impl BodySink for Vec<u8> {
    fn reserve(&mut self, len: usize) {
        Vec::reserve(self, len);
    }
    fn extend(&mut self, chunk: &[u8]) {
        self.extend_from_slice(chunk);
    }
    fn tail(&mut self, len: usize) -> &mut [u8] {
        let from = self.len();
        self.resize(from + len, 0);
        &mut self[from..]
    }
}

impl BodySink for SignedBody<'_> {
    fn reserve(&mut self, len: usize) {
        self.buffer().reserve_body(len);
    }
    fn extend(&mut self, chunk: &[u8]) {
        self.buffer().extend_body(chunk);
    }
    fn tail(&mut self, len: usize) -> &mut [u8] {
        self.buffer().body_tail(len)
    }
}

/// [`read_body`] into `sink`, which it hands back with the body appended.
pub async fn read_body_into<S: BodySink>(
    req: &mut Request,
    max: usize,
    mut sink: S,
) -> Result<S, ApiError> {
    // The limit's decisions are `core::body_limit`'s; this reads.
    let mut limit = BodyLimit::new(max);
    let plan = limit.plan(header(req, "content-length").as_deref())?;
    if req.inner().body().is_none() {
        return Ok(sink);
    }
    fn unreadable<E>(_: E) -> ApiError {
        ApiError::format("request body could not be read")
    }
    if let Plan::Whole { declared } = plan {
        sink.reserve(declared);
        let bytes = array_bytes(req.inner().array_buffer())
            .await
            .map_err(unreadable)?;
        let len = bytes.length() as usize;
        limit.take(len)?;
        bytes.copy_to(sink.tail(len));
        return Ok(sink);
    }
    let mut stream = req.stream().map_err(unreadable)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        limit.take(chunk.len())?;
        sink.extend(&chunk);
    }
    Ok(sink)
}

/// The bytes of a body-reading promise (`arrayBuffer()`).
async fn array_buffer(
    promise: std::result::Result<js_sys::Promise, wasm_bindgen::JsValue>,
) -> worker::Result<Vec<u8>> {
    Ok(array_bytes(promise).await?.to_vec())
}

/// The bytes a body-reading promise (`arrayBuffer()`) resolves to, still in
/// the runtime's memory, for one copy to wherever they go.
async fn array_bytes(
    promise: std::result::Result<js_sys::Promise, wasm_bindgen::JsValue>,
) -> std::result::Result<js_sys::Uint8Array, wasm_bindgen::JsValue> {
    let buf = wasm_bindgen_futures::JsFuture::from(promise?).await?;
    Ok(js_sys::Uint8Array::new(&buf))
}

/// The whole body of a response the worker fetched (from a process or one
/// of its Durable Objects), in one call to the runtime (`arrayBuffer()`)
/// rather than chunk by chunk through the wasm boundary.
pub async fn body_bytes(resp: Response) -> worker::Result<Vec<u8>> {
    let raw: web_sys::Response = resp.into();
    array_buffer(raw.array_buffer()).await
}

/// A fetched response's body, as JSON (see [`body_bytes`]).
pub async fn body_json<T: serde::de::DeserializeOwned>(resp: Response) -> worker::Result<T> {
    Ok(serde_json::from_slice(&body_bytes(resp).await?)?)
}

/// A request's body read in one call (`arrayBuffer()`), for the worker's
/// own requests to its Durable Objects.
pub async fn request_bytes(req: &Request) -> worker::Result<Vec<u8>> {
    array_buffer(req.inner().array_buffer()).await
}

/// A request's body read as JSON in one call (`arrayBuffer()`), parsed by
/// serde_json (for the worker's own requests to its Durable Objects).
pub async fn request_json<T: serde::de::DeserializeOwned>(req: &Request) -> worker::Result<T> {
    let bytes = array_buffer(req.inner().array_buffer()).await?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// A JSON body of at most `max` bytes, for the channel API.
pub async fn read_json(req: &mut Request, max: usize) -> Result<Value, RestError> {
    let body = read_body(req, max).await?;
    serde_json::from_slice(&body).map_err(|e| RestError::bad_request(format!("Bad JSON: {e}")))
}

/// A request header's value, if present and readable.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The request URL's query as decoded pairs, in order. The runtime's
/// `url` is already serialized, so it is split as a string
/// (`core::route::query_pairs`): no URL parse, and no URL parser in the wasm.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    syncbridge_core::route::query_pairs(&req.inner().url())
}

/// A JSON request from the worker to one of its Durable Objects (`base`
/// names the object kind in logs and traces; it is never fetched).
pub fn object_request(
    base: &str,
    method: worker::Method,
    path: &str,
    body: Option<String>,
) -> worker::Result<Request> {
    let headers = worker::Headers::new();
    headers.set("content-type", "application/json")?;
    let url = format!("{base}{path}");
    new_request(&url, method.as_ref(), &headers, body.as_deref(), false)
}

/// A request the worker sends (to a process, a destination, a Durable
/// Object, the static assets): built on the runtime's own `RequestInit`.
/// (worker's `RequestInit` would also carry the conversion of every `cf`
/// property, image resizing and all, into the wasm: code no request here
/// uses.) `manual_redirect`: a redirect is answered as it is, not followed.
/// Errors as worker's `Request::new_with_init` words them.
pub fn new_request(
    url: &str,
    method: &str,
    headers: &worker::Headers,
    body: Option<&str>,
    manual_redirect: bool,
) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_headers(headers.as_ref());
    if let Some(b) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    if manual_redirect {
        init.set_redirect(web_sys::RequestRedirect::Manual);
    }
    web_sys::Request::new_with_str_and_init(url, &init)
        .map(Request::from)
        .map_err(|e| {
            worker::Error::JsError(
                e.as_string()
                    .unwrap_or_else(|| "invalid URL or options for Request".to_string()),
            )
        })
}
