//! Inbound webhooks: any method on `/api/token/v1/{token_local}…` or
//! `/api/webrequest/{code}…`. The whole request goes to the channel's
//! process as an event; the caller gets 200 at once (async) or the answer
//! the process calls back with (sync). Every request is recorded in D1.
//!
//! [`handle`] reads as its steps: find the channel; answer a CORS
//! preflight; read the request; build the event and its log entry; announce
//! it; then either hand it over and answer at once, or park the caller until
//! the process answers; record the outcome after answering.

use crate::clients::rendezvous::{self, ParkRequest};
use crate::clock::{now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::http::{self, rest_error, Handled};
use crate::process;
use serde_json::json;
use syncbridge_core::channel::cache::CacheKey;
use syncbridge_core::channel::{Channel, ChannelKind};
use syncbridge_core::engine::{self, Forward};
use syncbridge_core::error::RestError;
use syncbridge_core::request_log::{self, Entry, Mode, Outcome};
use syncbridge_core::route;
use syncbridge_core::webhook::{ForwardError, SyncAnswer, WebhookFailure};
use syncbridge_core::{eventing, ids, request_id, webhook};
use worker::{Context, Request, Response, Result};

/// How the channel is named in the URL.
pub enum ChannelKey {
    /// `/api/token/v1/{token_local}…`
    Token(String),
    /// `/api/webrequest/{code}…` (percent-decoded)
    Code(String),
}

impl ChannelKey {
    /// How many path segments name the channel (what lies below is the
    /// eventing channel's subscription path).
    fn prefix_segments(&self) -> usize {
        match self {
            ChannelKey::Token(_) => 4,
            ChannelKey::Code(_) => 3,
        }
    }
}

/// A webhook call, read: what the event, the log entry and the answer need.
struct Call {
    method: String,
    /// As the runtime serialized it (split as a string: `core::route`).
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    sync: bool,
    /// The `Access-Control-Allow-Origin` the answer carries, if any.
    allow_origin: Option<String>,
}

impl Call {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the process is handed, and where it answers.
struct Handover {
    request_id: String,
    forward: std::result::Result<Forward, ForwardError>,
}

pub async fn handle(ctx: &Ctx, wctx: &Context, mut req: Request, key: ChannelKey) -> Handled {
    let received_ms = now_ms();
    let channel = find_channel(ctx, &key).await?;
    if channel.kind == ChannelKind::Eventing {
        // Below an eventing channel's URL: its subscriptions.
        let path = req.path();
        let rest: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .skip(key.prefix_segments())
            .filter(|s| !s.is_empty())
            .collect();
        return crate::routes::eventing::subscriptions(ctx, req, &channel, &rest).await;
    }
    if let Some(answer) = preflight_answer(&req, &channel)? {
        return Ok(answer);
    }
    let call = read_call(ctx, &mut req, &channel).await?;
    let mut entry = log_entry(ctx, &call, &channel);
    let handover = handover(ctx, &call, &channel, &entry.id, received_ms)?;
    announce(ctx, wctx, &channel, &entry);
    if !call.sync {
        hand_over_async(ctx, wctx, &channel, handover, entry, received_ms);
        let mut resp = Response::empty()?;
        if let Some(o) = &call.allow_origin {
            cors_headers(&mut resp, o)?;
        }
        return Ok(resp);
    }
    let resp = wait_for_answer(ctx, &call, handover, &mut entry).await?;
    entry.status = resp.status_code();
    entry.duration_ms = now_ms().saturating_sub(received_ms);
    let (env, channel, ttl_ms) = (ctx.env.clone(), channel.clone(), log_ttl_ms(ctx));
    wctx.wait_until(async move { record(&env, &channel, &entry, received_ms, ttl_ms).await });
    Ok(resp)
}

/// The channel the URL names (from the isolate's cache for up to
/// `CHANNEL_CACHE_MS`; see `core::channel::cache`).
async fn find_channel(ctx: &Ctx, key: &ChannelKey) -> std::result::Result<Channel, RestError> {
    let store = ctx.store()?;
    let key = match key {
        ChannelKey::Token(t) => CacheKey::Token(t.clone()),
        ChannelKey::Code(c) => CacheKey::Code(c.clone()),
    };
    let found = store
        .channel_by_key(key, now_ms(), ctx.settings.channel_cache_ms)
        .await?;
    found.ok_or_else(|| RestError::not_found("No channel at this URL"))
}

/// A CORS preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) is answered by the gateway itself.
fn preflight_answer(req: &Request, channel: &Channel) -> Result<Option<Response>> {
    let origin = http::header(req, "origin");
    let acrm = http::header(req, "access-control-request-method");
    if req.method().to_string() != "OPTIONS" || origin.is_none() || acrm.is_none() {
        return Ok(None);
    }
    let acrh = http::header(req, "access-control-request-headers");
    preflight(channel, origin.as_deref(), acrm.as_deref(), acrh.as_deref()).map(Some)
}

/// Reads the request: headers, body (bounded), sync or async, CORS origin.
async fn read_call(
    ctx: &Ctx,
    req: &mut Request,
    channel: &Channel,
) -> std::result::Result<Call, RestError> {
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let method = req.method().to_string();
    let body = http::read_body(req, ctx.settings.max_body_bytes).await?;
    let url = req.inner().url();
    let sync = webhook::is_sync(channel, &url);
    let mut call = Call {
        method,
        url,
        headers,
        body,
        sync,
        allow_origin: None,
    };
    call.allow_origin = webhook::allowed_origin(&channel.opts.cors_origins, call.header("origin"));
    Ok(call)
}

/// The log entry of the call (its id is the event's id), as "accepted",
/// with the request's payload (query, headers, body excerpt), redacted.
fn log_entry(ctx: &Ctx, call: &Call, channel: &Channel) -> Entry {
    let url = &call.url;
    let token = &channel.token_local;
    let request = request_log::RequestPayload::new(
        &webhook::query(url),
        &call.headers,
        &call.body,
        token,
        ctx.settings.request_log_body_bytes,
    );
    Entry {
        id: ids::uuid_v4(random16()),
        channel_id: channel.id.clone(),
        received_at: now_iso(),
        method: call.method.clone(),
        url: request_log::redact::path_and_query(route::path_of(url), route::query_of(url), token),
        ip: call.header("cf-connecting-ip").map(str::to_string),
        mode: if call.sync { Mode::Sync } else { Mode::Async },
        status: 200,
        duration_ms: 0,
        outcome: Outcome::Accepted,
        error: None,
        response: None,
        request: Some(request),
        result_key: None,
    }
}

/// The event for the process, its request id and callback URL, and the
/// signed request that hands it over. Without `PUBLIC_URL`, a call to a
/// non-loopback origin has no callback URL: a `config_error` 500.
fn handover(
    ctx: &Ctx,
    call: &Call,
    channel: &Channel,
    event_id: &str,
    received_ms: u64,
) -> std::result::Result<Handover, RestError> {
    let settings = &ctx.settings;
    let deadline_ms = settings.webhook_max_wait_s * 1000;
    let expires_at = (received_ms + deadline_ms).div_ceil(1000) + settings.result_ttl_s;
    let request_id = request_id::issue_for(
        &settings.callback_secret,
        request_id::Purpose::Webhook,
        random16(),
        expires_at,
        &format!("channel:{}", channel.id),
    );
    let base = settings
        .public_base(route::origin_of(&call.url))
        .map_err(|e| RestError::internal(e.0))?;
    let callback_url = engine::callback_url(&base, &request_id);
    let inbound = webhook::Inbound {
        method: &call.method,
        url: &call.url,
        headers: &call.headers,
        body: &call.body,
        ip: call.header("cf-connecting-ip"),
        protocol: route::scheme_of(&call.url),
    };
    let event = webhook::event(&inbound, channel, event_id, !call.sync, &callback_url);
    let forward = webhook::forward_to_process(
        settings,
        channel,
        &event,
        event_id,
        &callback_url,
        received_ms,
    );
    Ok(Handover {
        request_id,
        forward,
    })
}

/// `gateway.webhook.received` on the channel's eventing channel, after the answer.
fn announce(ctx: &Ctx, wctx: &Context, channel: &Channel, entry: &Entry) {
    if channel.opts.eventing_channel.is_empty() {
        return;
    }
    let (env, channel) = (ctx.env.clone(), channel.clone());
    let data = json!({"request_id": entry.id, "method": entry.method, "url": entry.url, "mode": entry.mode});
    wctx.wait_until(async move {
        crate::gateway_events::publish(&env, &channel, eventing::WEBHOOK_RECEIVED, data).await
    });
}

fn log_ttl_ms(ctx: &Ctx) -> u64 {
    ctx.settings.request_log_ttl_s * 1000
}

/// Async: hands the event over after the answer, then records the outcome.
fn hand_over_async(
    ctx: &Ctx,
    wctx: &Context,
    channel: &Channel,
    handover: Handover,
    mut entry: Entry,
    received_ms: u64,
) {
    let (env, channel, ttl_ms) = (ctx.env.clone(), channel.clone(), log_ttl_ms(ctx));
    // The process may report a result to its callback URL: kept beside the record.
    entry.result_key = Some(request_log::result_key(&handover.request_id));
    wctx.wait_until(async move {
        let (outcome, error) = match handover.forward {
            Ok(f) => webhook::handover_outcome(&process::send(&f).await),
            Err(e) => (Outcome::NoProcess, Some(e.to_string())),
        };
        entry.outcome = outcome;
        entry.error = error;
        entry.duration_ms = now_ms().saturating_sub(received_ms);
        record(&env, &channel, &entry, received_ms, ttl_ms).await;
    });
}

/// Sync: parks the caller until the process answers (or the wait runs
/// out) and turns the outcome into the answer, noting it in `entry`.
async fn wait_for_answer(
    ctx: &Ctx,
    call: &Call,
    handover: Handover,
    entry: &mut Entry,
) -> Result<Response> {
    let settings = &ctx.settings;
    let allow_origin = call.allow_origin.as_deref();
    let answer = match handover.forward {
        Err(e) => SyncAnswer::Failure(WebhookFailure::no_process(&e)),
        Ok(f) => {
            let park = ParkRequest {
                forward: f,
                wait_ms: settings.webhook_max_wait_s * 1000,
            };
            let outcome = rendezvous::park(&ctx.env, &handover.request_id, &park).await;
            webhook::sync_answer(outcome, settings.webhook_max_wait_s)
        }
    };
    let mut resp = match answer {
        SyncAnswer::Reply(r) => {
            entry.outcome = Outcome::Answered;
            entry.response = Some(r.record());
            answer_with(r, allow_origin)?
        }
        SyncAnswer::Failure(f) => {
            entry.outcome = f.outcome;
            entry.error = Some(f.message.clone());
            rest_error(&f.to_rest())?
        }
    };
    // The gateway's own errors (502, 504) carry the channel's CORS origin
    // too, so that a browser can read them.
    if let Some(o) = allow_origin {
        if resp.headers().get("access-control-allow-origin")?.is_none() {
            cors_headers(&mut resp, o)?;
        }
    }
    Ok(resp)
}

/// The process's answer as an HTTP response, with the channel's CORS origin
/// added unless the process set its own.
fn answer_with(r: webhook::Reply, allow_origin: Option<&str>) -> Result<Response> {
    // Statuses that cannot carry a body get none.
    let mut resp = if r.body.is_empty() || matches!(r.status, 204 | 205 | 304) {
        Response::empty()?
    } else {
        Response::from_bytes(r.body)?
    }
    .with_status(r.status);
    let own_acao = r
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("access-control-allow-origin"));
    // The first value of a name replaces any default (content-type); later
    // ones are added (several set-cookie headers).
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in &r.headers {
        let name = k.to_ascii_lowercase();
        if seen.contains(&name) {
            resp.headers_mut().append(k, v)?;
        } else {
            resp.headers_mut().set(k, v)?;
            seen.push(name);
        }
    }
    if let (false, Some(o)) = (own_acao, allow_origin) {
        cors_headers(&mut resp, o)?;
    }
    Ok(resp)
}

fn cors_headers(resp: &mut Response, origin: &str) -> Result<()> {
    resp.headers_mut()
        .set("access-control-allow-origin", origin)?;
    resp.headers_mut().append("vary", "Origin")?;
    Ok(())
}

fn preflight(
    channel: &Channel,
    origin: Option<&str>,
    method: Option<&str>,
    headers: Option<&str>,
) -> Result<Response> {
    let mut resp = Response::empty()?.with_status(204);
    if let Some(hs) = webhook::preflight(&channel.opts.cors_origins, origin, method, headers) {
        for (k, v) in hs {
            resp.headers_mut().set(&k, &v)?;
        }
    }
    Ok(resp)
}

/// Records the request and publishes its outcome as a gateway event.
async fn record(
    env: &worker::Env,
    channel: &Channel,
    entry: &Entry,
    received_ms: u64,
    ttl_ms: u64,
) {
    let kind = eventing::webhook_event_type(entry.outcome);
    let data = json!({
        "request_id": entry.id, "mode": entry.mode, "status": entry.status,
        "duration_ms": entry.duration_ms, "error": entry.error,
    });
    crate::gateway_events::publish(env, channel, kind, data).await;
    let mut entry = entry.clone();
    entry.finish(&channel.token_local);
    let (doc, payload) = entry.documents();
    let outcome = match crate::store::Store::new(env) {
        Ok(store) => {
            let row = crate::store::RequestRow {
                id: &entry.id,
                channel_id: &entry.channel_id,
                received_at_ms: received_ms,
                expires_at_ms: received_ms + ttl_ms,
                doc: &doc,
                outcome: entry.outcome.as_str(),
                payload: &payload,
                result_key: entry.result_key.as_deref(),
            };
            store.log_request(&row).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        http::log_error(&[
            ("event", http::Field::Str("request_log_failed")),
            ("id", http::Field::Str(&entry.id)),
            ("error", http::Field::Str(&e.error_message)),
        ]);
    }
}
